import { defineConfig } from 'vite';

/** The admin UI: web/ → dist/web, served by the server at /admin/. Preact via esbuild's JSX. */
export default defineConfig({
  root: 'web',
  base: '/admin/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: true },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000', '/public': 'http://127.0.0.1:8000', '/r': 'http://127.0.0.1:8000' },
  },
});
