import type { ProviderLabelSet } from '../types.js';

/** Google Gemini in the admin UI's languages (src/providers/types.ts, ProviderLabels). */
export const GEMINI_LABELS: ProviderLabelSet = {
  en: {
    title: 'Google Gemini',
    fields: {
      prompt: { title: 'Prompt' },
      model: { title: 'Model' },
      aspect_ratio: { title: 'Aspect ratio' },
      image_size: { title: 'Image size' },
      thinking_level: { title: 'Thinking level' },
      safety_threshold: { title: 'Safety threshold' },
      input_max_side: { title: 'Photo size sent (px)' },
    },
    options: {
      minimal: 'minimal',
      high: 'high',
      BLOCK_NONE: 'block nothing',
      BLOCK_ONLY_HIGH: 'block only high risk',
      BLOCK_MEDIUM_AND_ABOVE: 'block medium risk and above',
      BLOCK_LOW_AND_ABOVE: 'block low risk and above',
      OFF: 'filter off',
    },
  },
  ru: {
    title: 'Google Gemini',
    operations: {
      edit: {
        title: 'Редактирование Gemini',
        description: 'Фото (и необязательные референсы) с промптом отправляются в Gemini.',
      },
    },
    templates: { reference: 'Референс (стиль, рамка, фон…)', reference_2: 'Второй референс' },
    fields: {
      prompt: { title: 'Промпт (задание для ИИ)', description: 'Что сделать с фото.' },
      model: { title: 'Модель', description: 'Модель, которая генерирует изображение.' },
      aspect_ratio: { title: 'Соотношение сторон', description: 'Не задано — как у исходного фото.' },
      image_size: {
        title: 'Размер изображения',
        description: 'Если модель предлагает выбор; больший размер отвечает дольше.',
      },
      thinking_level: {
        title: 'Уровень размышления',
        description: 'Сколько модель рассуждает перед рисованием; «высокий» — дольше.',
      },
      safety_threshold: {
        title: 'Порог фильтра безопасности',
        description: 'Для категорий: оскорбления, ненависть, откровенный и опасный контент.',
      },
      input_max_side: {
        title: 'Размер фото для ИИ (px)',
        description:
          'Длинная сторона фото, отправляемого модели. По умолчанию — рабочий размер модели для выбранного размера результата; больше — дольше по медленному интернету.',
      },
    },
    options: {
      minimal: 'минимальный',
      high: 'высокий',
      BLOCK_NONE: 'не блокировать',
      BLOCK_ONLY_HIGH: 'блокировать только высокий риск',
      BLOCK_MEDIUM_AND_ABOVE: 'блокировать средний риск и выше',
      BLOCK_LOW_AND_ABOVE: 'блокировать низкий риск и выше',
      OFF: 'фильтр выключен',
    },
  },
};
