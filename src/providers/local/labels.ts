import type { ProviderLabelSet } from '../types.js';

/** The built-in provider in the admin UI's languages (src/providers/types.ts, ProviderLabels). */
export const LOCAL_LABELS: ProviderLabelSet = {
  en: {
    title: 'Built-in (offline)',
    fields: {
      style: { title: 'Style' },
      strength: { title: 'Strength' },
      max_side: { title: 'Max side (px)' },
      fit: { title: 'Fit' },
      padding_percent: { title: 'Padding (%)' },
      background: { title: 'Background colour' },
      scale_percent: { title: 'Photo height (%)' },
    },
    options: {
      bw: 'black and white',
      sepia: 'sepia',
      vivid: 'vivid',
      cool: 'cool',
      warm: 'warm',
      vintage: 'vintage',
      cover: 'cover (crop to fill)',
      contain: 'contain (whole photo)',
    },
  },
  ru: {
    title: 'Встроенный (без интернета)',
    operations: {
      neutral: {
        title: 'Нейтральная',
        description: 'Поворот по EXIF, уменьшение до наибольшей стороны, перекодирование в JPEG.',
      },
      style: {
        title: 'Стилевой фильтр',
        description: 'Цветовой стиль (ч/б, сепия, яркий, холодный, тёплый, винтаж) поверх фото.',
      },
      frame: {
        title: 'Рамка / шаблон',
        description: 'Фото помещается в рамку: прозрачное окно шаблона или внутренняя область непрозрачного фона.',
      },
      background: {
        title: 'Фон',
        description: 'Фото (например, PNG без фона) поверх фонового изображения, по центру снизу.',
      },
      booth_test: {
        title: 'Проверка фотобудки',
        description:
          'Возвращает фото самой будки с полосой «PhotoChanger OK · слот · время»: подключите будку (и посмотрите её запросы в «Задания → Будки») без расходов на ИИ.',
      },
    },
    templates: { frame: 'Рамка (PNG с прозрачным окном или фон)', background: 'Фоновое изображение' },
    fields: {
      style: { title: 'Стиль', description: 'Цветовой стиль поверх фото.' },
      strength: { title: 'Сила эффекта', description: 'Насколько сильно применяется стиль (%).' },
      max_side: { title: 'Наибольшая сторона (px)', description: 'Больше — уменьшается.' },
      fit: { title: 'Вписывание', description: 'Заполнить окно рамки с обрезкой или вписать фото целиком.' },
      padding_percent: { title: 'Отступ (%)', description: 'Поле вокруг фото, в % от шаблона.' },
      background: { title: 'Цвет фона', description: 'Там, где фото не покрывает окно рамки.' },
      scale_percent: { title: 'Высота фото (%)', description: 'Относительно фона.' },
    },
    options: {
      bw: 'чёрно-белый',
      sepia: 'сепия',
      vivid: 'яркий',
      cool: 'холодный',
      warm: 'тёплый',
      vintage: 'винтаж',
      cover: 'заполнить (с обрезкой)',
      contain: 'вписать целиком',
    },
  },
};
