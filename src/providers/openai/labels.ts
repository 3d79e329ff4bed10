import type { ProviderLabelSet } from '../types.js';

/** OpenAI GPT Image in the admin UI's languages (src/providers/types.ts, ProviderLabels). */
export const OPENAI_LABELS: ProviderLabelSet = {
  en: {
    title: 'OpenAI GPT Image',
    fields: {
      prompt: { title: 'Prompt' },
      model: { title: 'Model' },
      size: { title: 'Size' },
      quality: { title: 'Quality' },
      output_format: { title: 'Output format' },
      output_compression: { title: 'Compression' },
      background: { title: 'Background' },
      input_fidelity: { title: 'Input fidelity' },
    },
    options: {
      auto: 'automatic',
      low: 'low',
      medium: 'medium',
      high: 'high',
      opaque: 'opaque',
      transparent: 'transparent',
      png: 'PNG',
      jpeg: 'JPEG',
      webp: 'WebP',
    },
  },
  ru: {
    title: 'OpenAI GPT Image',
    operations: {
      edit: {
        title: 'Редактирование GPT Image',
        description: 'Фото (и необязательные референсы) с промптом отправляются в OpenAI. 15–60 с.',
      },
    },
    templates: { reference: 'Референс (стиль, рамка, фон…)', reference_2: 'Второй референс' },
    fields: {
      prompt: { title: 'Промпт (задание для ИИ)', description: 'Что сделать с фото.' },
      model: { title: 'Модель', description: 'Модель, которая генерирует изображение.' },
      size: { title: 'Размер', description: 'Размер результата в пикселях; auto — на выбор модели.' },
      quality: { title: 'Качество', description: 'Выше — дольше и дороже.' },
      output_format: { title: 'Формат ответа' },
      output_compression: { title: 'Сжатие', description: 'Только для jpeg/webp.' },
      background: { title: 'Фон', description: 'Прозрачный фон — только для png/webp.' },
      input_fidelity: {
        title: 'Точность к исходнику',
        description: 'Только GPT Image 1 / 1.5 (новые модели решают сами): «высокая» точнее сохраняет лица.',
      },
    },
    options: {
      auto: 'автоматически',
      low: 'низкое',
      medium: 'среднее',
      high: 'высокое',
      opaque: 'непрозрачный',
      transparent: 'прозрачный',
      png: 'PNG',
      jpeg: 'JPEG',
      webp: 'WebP',
    },
  },
};
