import type { ProviderLabelSet } from '../types.js';

/** Turbotext in the admin UI's languages (src/providers/types.ts, ProviderLabels). */
export const TURBOTEXT_LABELS: ProviderLabelSet = {
  en: {
    title: 'Turbotext',
    fields: {
      prompt: { title: 'Prompt' },
      strength: { title: 'Strength' },
      seed: { title: 'Seed' },
      scale: { title: 'Scale' },
      negative_prompt: { title: 'Negative prompt' },
      original_language: { title: 'Prompt language' },
      delivery: { title: 'Delivery' },
      face_restore: { title: 'Restore the face' },
      swap_roles: { title: 'Swap the roles (if a test run puts the template’s face on the guest)' },
    },
    options: { poll: 'poll (ask for the result)', webhook: 'webhook (Turbotext calls back)' },
  },
  ru: {
    title: 'Turbotext',
    operations: {
      generate_image2image: { title: 'Изображение по изображению', description: 'Перерисовывает фото по промпту.' },
      mix_images: { title: 'Перенос стиля', description: 'Переносит стиль шаблона на фото.' },
      deepfake_photo: { title: 'Замена лица', description: 'Лицо гостя переносится на целевой шаблон.' },
    },
    templates: { style: 'Изображение стиля', target: 'Целевое изображение (чьё лицо заменяется)' },
    fields: {
      swap_roles: {
        title: 'Поменять роли местами',
        description:
          'Включите, если пробный запуск переносит лицо шаблона на гостя, а не наоборот (официальная документация Turbotext этого не уточняет).',
      },
      prompt: { title: 'Промпт (задание для ИИ)', description: 'Что сделать с фото.' },
      strength: { title: 'Сила эффекта', description: 'Насколько сильно меняется фото.' },
      seed: { title: 'Seed (зерно)', description: 'Одинаковое зерно даёт повторяемый результат.' },
      scale: { title: 'Масштаб (scale)', description: 'Насколько точно следовать промпту.' },
      negative_prompt: { title: 'Негативный промпт', description: 'Чего не должно быть на фото.' },
      original_language: { title: 'Язык промпта', description: 'Например, ru или en.' },
      delivery: {
        title: 'Получение результата',
        description:
          'Опрос — сервер спрашивает результат; webhook — Turbotext сам присылает его (нужен публичный адрес).',
      },
      face_restore: { title: 'Восстановить лицо', description: 'Turbotext дорисует заменённое лицо.' },
    },
    options: { poll: 'опрос (запрашивать результат)', webhook: 'webhook (Turbotext присылает сам)' },
  },
};
