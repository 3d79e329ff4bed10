import { useEffect, useState } from 'preact/hooks';

const en = {
  appName: 'PhotoChanger',
  language: 'Language',
  login: 'Log in',
  logout: 'Log out',
  username: 'User name',
  password: 'Password',
  loginFailed: 'Wrong user name or password.',
  rememberMe: 'Remember me on this computer (30 days)',
  loginLocked: 'Too many failed attempts. The account is locked until {time}.',
  sessionExpired: 'Your session has ended. Please log in again.',
  navSlots: 'Slots',
  navStats: 'Statistics',
  navJobs: 'Jobs',
  navSettings: 'Settings',
  loading: 'Loading…',
  error: 'Error',
  save: 'Save',
  saved: 'Saved.',
  cancel: 'Cancel',
  remove: 'Remove',
  copy: 'Copy',
  copied: 'Copied!',
  enabled: 'Enabled',
  disabled: 'Disabled',
  name: 'Name',
  provider: 'Provider',
  operation: 'Operation',
  lastActivity: 'Last activity',
  never: 'never',
  today: 'Today',
  succeeded: 'Succeeded',
  failed: 'Failed',
  ingestUrl: 'Ingest URL',
  edit: 'Edit',
  modelMigrated: 'The model {from} was shut down by the provider: this slot now uses {to}.',
  modelMigratedDropped: 'Settings the new model does not take were removed: {fields}.',
  modelDeprecated: 'The model {model} is deprecated.',
  modelDeprecatedOn: 'The model {model} is deprecated and shuts down on {date}.',
  modelShutDown: 'The model {model} has been shut down by the provider: booth photos on this slot will fail.',
  switchTo: 'Switch to {model}',
  modelLive: 'Models your API key can use right now (checked {time}).',
  modelTableOnly: 'Built-in list of models ({reason}).',
  modelOtherGroup: 'Other models your key can use (common settings only)',
  modelDeprecatedLabel: 'deprecated',
  modelShutDownLabel: 'shut down',
  modelPreviewLabel: 'preview',
  modelAnyId: 'Advanced: any model id',
  modelAnyIdHelp: 'For a model newer than this list. It is checked against the models your key can use when you save.',
  publicUrlLan: 'PHOTOCHANGER_PUBLIC_BASE_URL is not set: booth URLs and guests\' links use this server\'s network address {url}. They work on this network only — guests on mobile data cannot open them, and Turbotext cannot be used.',
  publicUrlNone: 'This server knows no address other machines can reach: set PHOTOCHANGER_PUBLIC_BASE_URL (or let it listen on all interfaces). Booths and guests cannot use the links below.',
  guestLinkNone: 'No guest link: set PHOTOCHANGER_PUBLIC_BASE_URL so that phones can open it.',
  guestLinkLan: 'This link works on the local network only (PHOTOCHANGER_PUBLIC_BASE_URL is not set).',
  lastHour: 'Last hour',
  failoverTitle: 'Fallback providers',
  failoverHelp: 'When this slot\'s provider fails (unavailable, rate limited, no image, too slow for its share of the time), the next one is tried within the same response window, so the booth still gets an AI photo.',
  failoverStep: 'Fallback {n}',
  failoverAdd: 'Add a fallback provider',
  failoverOnSafety: 'Also try the next provider when one refuses the photo for safety reasons',
  latencyLegend: 'p50 — blue · p95 — amber · p99 — red',
  providerLocal: 'Built-in (offline)',
  oldPasswordAlert: 'A booth sent a wrong password {n} time(s) in the last hour: it probably still uses the old ingest password (Settings).',
  successRate: 'Success rate',
  refused: 'Refused',
  refusedByCode: 'Refused booth requests (no job was made)',
  noRefusals: 'No refused requests in this period.',
  refusal_invalid_request: 'malformed request',
  refusal_invalid_password: 'wrong password (a booth with an old password?)',
  refusal_slot_not_found: 'unknown or disabled slot',
  refusal_upload_timeout: 'upload too slow',
  refusal_payload_too_large: 'photo too large',
  refusal_uri_too_long: 'URL too long',
  refusal_unsupported_media_type: 'file type not accepted',
  refusal_queue_busy: 'queue full',
  refusal_too_many_attempts: 'too many wrong passwords',
  refusal_queue_unavailable: 'database unavailable',
  refusal_insufficient_storage: 'disk full',
  noKey: 'No API key configured for this provider: its ingests will fail.',
  checkKey: 'Check',
  keyCheck_valid: 'Valid',
  keyModels: '{n} image models available to this key',
  keyCheck_invalid: 'Refused by the provider',
  keyCheck_unreachable: 'Provider unreachable',
  keyCheck_missing: 'No key',
  keyCheck_unchecked: 'Cannot be checked',
  needsPublicUrl: 'Turbotext downloads the photo from this server: set PHOTOCHANGER_PUBLIC_BASE_URL to an address reachable from the internet (e.g. https://booth.example.com), or its ingests will fail.',
  providerNotReady: 'Provider not ready: {reason}',
  slotEditor: 'Slot {id}',
  settingsHeading: 'Operation settings',
  templates: 'Template images',
  dropHere: 'Drop an image here or choose a file',
  chooseFile: 'Choose file',
  uploadLimit: 'Upload limit (MB, empty = default)',
  conflictTitle: 'Someone else changed this slot',
  conflictBody: 'The slot was saved by someone else after you opened it. Reload their version (your changes are lost), or overwrite it with yours.',
  reload: 'Reload',
  overwrite: 'Overwrite with mine',
  fixErrors: 'Please fix the highlighted fields.',
  testRun: 'Test run',
  testRunHelp: 'Send a photo through the settings of this form, saved or not, like the booth does (same queue and deadline). The booth keeps getting the saved settings until you save.',
  runTest: 'Run test',
  running: 'Running…',
  before: 'Before',
  after: 'After',
  timings: 'Queue wait {wait} ms · processing {processing} ms · total {total} ms',
  chars: '{n} / {max} characters',
  settingsTitle: 'Settings',
  ingestPassword: 'Ingest password (DSLR Remote Pro)',
  ingestPasswordHelp: 'The current password is never shown. Set a new one: the booth must use it from the next shot on.',
  newPassword: 'New password',
  rotate: 'Change password',
  passwordSet: 'Set {when} by {who}',
  passwordChanged: 'The ingest password was changed.',
  providerKeys: 'Provider API keys',
  configured: 'configured',
  notConfigured: 'not configured',
  fromEnv: 'from the environment',
  fromSettings: 'stored (encrypted)',
  newKey: 'New key',
  setKey: 'Save key',
  clearKey: 'Clear',
  tSync: 'Response window T_sync (seconds)',
  tSyncHelp: 'How long the booth waits for the processed photo. If the provider is slower, the booth gets a timeout answer (504) and the guest can pick the result up later. 45–60 s.',
  retention: 'Keep results (hours)',
  retentionHelp: 'After this, result links and guest pages answer "expired".',
  purge: 'Purge expired media now',
  purgeConfirm: 'Delete all expired results, payloads and temporary links now? Live results and templates are kept.',
  purgeDone: 'Deleted: {results} results, {payloads} payloads, {links} temporary links.',
  statsTitle: 'Statistics',
  period: 'Period',
  last24h: 'Last 24 hours',
  last7d: 'Last 7 days',
  last30d: 'Last 30 days',
  groupBy: 'Group by',
  hour: 'hour',
  day: 'day',
  week: 'week',
  total: 'Total',
  timeouts: 'Timeouts',
  providerErrors: 'Provider errors',
  cancellations: 'Cancelled',
  latency: 'Latency p50 / p95 / p99',
  successesErrors: 'Successes and errors',
  latencyChart: 'Latency (ms)',
  perSlot: 'Per slot',
  slot: 'Slot',
  sinceReset: 'Since reset',
  reset: 'Reset',
  resetConfirm: 'Reset the counters of {slot}? History is kept.',
  jobsTitle: 'Jobs',
  live: 'Live',
  allSlots: 'All slots',
  allOutcomes: 'All outcomes',
  outcome: 'Outcome',
  created: 'Created',
  duration: 'Duration',
  job: 'Job {id}',
  deadline: 'Deadline',
  remaining: '{ms} ms left',
  expired: 'passed',
  result: 'Result',
  noResult: 'No result available (failed or expired).',
  guestPage: 'Guest page',
  qr: 'QR code of the guest page',
  providerCalls: 'Provider calls',
  metadata: 'Booth fields',
  back: 'Back',
  outcome_succeeded: 'succeeded',
  outcome_timeout: 'timeout',
  outcome_provider_error: 'provider error',
  outcome_cancelled: 'cancelled',
  outcome_internal_error: 'internal error',
  outcome_pending: 'waiting',
  outcome_processing: 'processing',
  test: 'test',
};

export type MessageKey = keyof typeof en;

/** Every key of `en`, in Russian: the type makes a missing translation a compile error. */
const ru: Record<MessageKey, string> = {
  appName: 'PhotoChanger',
  language: 'Язык',
  login: 'Войти',
  logout: 'Выйти',
  username: 'Имя пользователя',
  password: 'Пароль',
  loginFailed: 'Неверное имя пользователя или пароль.',
  rememberMe: 'Запомнить меня на этом компьютере (30 дней)',
  loginLocked: 'Слишком много неудачных попыток. Вход заблокирован до {time}.',
  sessionExpired: 'Сеанс завершён. Войдите снова.',
  navSlots: 'Слоты',
  navStats: 'Статистика',
  navJobs: 'Задачи',
  navSettings: 'Настройки',
  loading: 'Загрузка…',
  error: 'Ошибка',
  save: 'Сохранить',
  saved: 'Сохранено.',
  cancel: 'Отмена',
  remove: 'Удалить',
  copy: 'Копировать',
  copied: 'Скопировано!',
  enabled: 'Включён',
  disabled: 'Выключен',
  name: 'Название',
  provider: 'Провайдер',
  operation: 'Операция',
  lastActivity: 'Последняя активность',
  never: 'никогда',
  today: 'Сегодня',
  succeeded: 'Успешно',
  failed: 'Ошибки',
  ingestUrl: 'URL для фотобудки',
  edit: 'Изменить',
  modelMigrated: 'Провайдер отключил модель {from}: слот теперь работает на {to}.',
  modelMigratedDropped: 'Настройки, которых нет у новой модели, удалены: {fields}.',
  modelDeprecated: 'Модель {model} устарела.',
  modelDeprecatedOn: 'Модель {model} устарела и будет отключена {date}.',
  modelShutDown: 'Провайдер отключил модель {model}: фото с фотобудки в этом слоте будут завершаться ошибкой.',
  switchTo: 'Перейти на {model}',
  modelLive: 'Модели, доступные вашему API-ключу сейчас (проверено {time}).',
  modelTableOnly: 'Встроенный список моделей ({reason}).',
  modelOtherGroup: 'Другие модели вашего ключа (только общие настройки)',
  modelDeprecatedLabel: 'устарела',
  modelShutDownLabel: 'отключена',
  modelPreviewLabel: 'предварительная',
  modelAnyId: 'Для опытных: любой id модели',
  modelAnyIdHelp: 'Для модели новее этого списка. При сохранении проверяется по списку моделей вашего ключа.',
  publicUrlLan: 'PHOTOCHANGER_PUBLIC_BASE_URL не задан: адреса для фотобудки и ссылки для гостей указывают на сетевой адрес сервера {url}. Они работают только в этой сети — гости с мобильным интернетом их не откроют, а Turbotext недоступен.',
  publicUrlNone: 'У сервера нет адреса, доступного с других устройств: задайте PHOTOCHANGER_PUBLIC_BASE_URL (или слушайте все интерфейсы). Фотобудка и гости не смогут открыть ссылки ниже.',
  guestLinkNone: 'Ссылки для гостя нет: задайте PHOTOCHANGER_PUBLIC_BASE_URL, чтобы её можно было открыть с телефона.',
  guestLinkLan: 'Эта ссылка работает только в локальной сети (PHOTOCHANGER_PUBLIC_BASE_URL не задан).',
  lastHour: 'Последний час',
  failoverTitle: 'Резервные провайдеры',
  failoverHelp: 'Если провайдер слота не справился (недоступен, лимит запросов, нет изображения, не успел за свою долю времени), пробуется следующий — в том же окне ответа, и фотобудка всё равно получает ИИ-фото.',
  failoverStep: 'Резерв {n}',
  failoverAdd: 'Добавить резервного провайдера',
  failoverOnSafety: 'Пробовать следующего провайдера и при отказе по соображениям безопасности',
  latencyLegend: 'p50 — синий · p95 — жёлтый · p99 — красный',
  providerLocal: 'Встроенный (без интернета)',
  oldPasswordAlert: 'Фотобудка прислала неверный пароль {n} раз(а) за последний час: вероятно, в ней остался старый пароль (см. Настройки).',
  successRate: 'Доля успешных',
  refused: 'Отклонено',
  refusedByCode: 'Отклонённые запросы фотобудок (задача не создана)',
  noRefusals: 'За этот период отклонённых запросов нет.',
  refusal_invalid_request: 'некорректный запрос',
  refusal_invalid_password: 'неверный пароль (у фотобудки старый пароль?)',
  refusal_slot_not_found: 'неизвестный или выключенный слот',
  refusal_upload_timeout: 'слишком медленная загрузка',
  refusal_payload_too_large: 'слишком большое фото',
  refusal_uri_too_long: 'слишком длинный URL',
  refusal_unsupported_media_type: 'тип файла не принимается',
  refusal_queue_busy: 'очередь заполнена',
  refusal_too_many_attempts: 'слишком много неверных паролей',
  refusal_queue_unavailable: 'база данных недоступна',
  refusal_insufficient_storage: 'диск заполнен',
  noKey: 'Для этого провайдера не задан API-ключ: обработка будет завершаться ошибкой.',
  checkKey: 'Проверить',
  keyCheck_valid: 'Ключ работает',
  keyModels: 'доступно моделей изображений: {n}',
  keyCheck_invalid: 'Провайдер отклонил ключ',
  keyCheck_unreachable: 'Провайдер недоступен',
  keyCheck_missing: 'Ключ не задан',
  keyCheck_unchecked: 'Проверить нельзя',
  needsPublicUrl: 'Turbotext скачивает фото с этого сервера: задайте PHOTOCHANGER_PUBLIC_BASE_URL — адрес, доступный из интернета (например, https://booth.example.com), иначе обработка будет завершаться ошибкой.',
  providerNotReady: 'Провайдер не готов: {reason}',
  slotEditor: 'Слот {id}',
  settingsHeading: 'Параметры операции',
  templates: 'Шаблоны',
  dropHere: 'Перетащите изображение сюда или выберите файл',
  chooseFile: 'Выбрать файл',
  uploadLimit: 'Лимит загрузки (МБ, пусто — по умолчанию)',
  conflictTitle: 'Слот изменил кто-то другой',
  conflictBody: 'После того как вы открыли слот, его сохранил другой администратор. Загрузите его версию (ваши изменения пропадут) или перезапишите своей.',
  reload: 'Загрузить заново',
  overwrite: 'Перезаписать моей',
  fixErrors: 'Исправьте отмеченные поля.',
  testRun: 'Тестовый прогон',
  testRunHelp: 'Отправить фото через настройки этой формы — сохранённые или нет — так же, как это делает фотобудка (та же очередь и срок ответа). Фотобудка получает сохранённые настройки, пока вы не нажмёте «Сохранить».',
  runTest: 'Запустить тест',
  running: 'Выполняется…',
  before: 'До',
  after: 'После',
  timings: 'Ожидание в очереди {wait} мс · обработка {processing} мс · всего {total} мс',
  chars: '{n} / {max} символов',
  settingsTitle: 'Настройки',
  ingestPassword: 'Пароль для фотобудки (DSLR Remote Pro)',
  ingestPasswordHelp: 'Текущий пароль никогда не показывается. Задайте новый: фотобудка должна использовать его со следующего снимка.',
  newPassword: 'Новый пароль',
  rotate: 'Сменить пароль',
  passwordSet: 'Задан {when}, {who}',
  passwordChanged: 'Пароль для фотобудки изменён.',
  providerKeys: 'API-ключи провайдеров',
  configured: 'задан',
  notConfigured: 'не задан',
  fromEnv: 'из переменных окружения',
  fromSettings: 'сохранён (зашифрован)',
  newKey: 'Новый ключ',
  setKey: 'Сохранить ключ',
  clearKey: 'Очистить',
  tSync: 'Окно ответа T_sync (секунды)',
  tSyncHelp: 'Сколько фотобудка ждёт обработанное фото. Если провайдер медленнее, будка получит ответ о тайм-ауте (504), а гость сможет забрать результат позже. 45–60 с.',
  retention: 'Хранить результаты (часы)',
  retentionHelp: 'После этого ссылки на результаты и страницы гостей отвечают «срок истёк».',
  purge: 'Удалить просроченные файлы сейчас',
  purgeConfirm: 'Удалить сейчас все просроченные результаты, загрузки и временные ссылки? Действующие результаты и шаблоны сохранятся.',
  purgeDone: 'Удалено: результатов {results}, загрузок {payloads}, временных ссылок {links}.',
  statsTitle: 'Статистика',
  period: 'Период',
  last24h: 'Последние 24 часа',
  last7d: 'Последние 7 дней',
  last30d: 'Последние 30 дней',
  groupBy: 'Группировка',
  hour: 'час',
  day: 'день',
  week: 'неделя',
  total: 'Всего',
  timeouts: 'Тайм-ауты',
  providerErrors: 'Ошибки провайдера',
  cancellations: 'Отменено',
  latency: 'Задержка p50 / p95 / p99',
  successesErrors: 'Успехи и ошибки',
  latencyChart: 'Задержка (мс)',
  perSlot: 'По слотам',
  slot: 'Слот',
  sinceReset: 'С момента сброса',
  reset: 'Сбросить',
  resetConfirm: 'Сбросить счётчики слота {slot}? История сохранится.',
  jobsTitle: 'Задачи',
  live: 'В реальном времени',
  allSlots: 'Все слоты',
  allOutcomes: 'Все исходы',
  outcome: 'Исход',
  created: 'Создана',
  duration: 'Длительность',
  job: 'Задача {id}',
  deadline: 'Срок ответа',
  remaining: 'осталось {ms} мс',
  expired: 'истёк',
  result: 'Результат',
  noResult: 'Результата нет (ошибка или срок хранения истёк).',
  guestPage: 'Страница гостя',
  qr: 'QR-код страницы гостя',
  providerCalls: 'Вызовы провайдера',
  metadata: 'Поля от фотобудки',
  back: 'Назад',
  outcome_succeeded: 'успешно',
  outcome_timeout: 'тайм-аут',
  outcome_provider_error: 'ошибка провайдера',
  outcome_cancelled: 'отменена',
  outcome_internal_error: 'внутренняя ошибка',
  outcome_pending: 'ожидает',
  outcome_processing: 'обрабатывается',
  test: 'тест',
};

export type Lang = 'ru' | 'en';
const DICTS: Record<Lang, Record<MessageKey, string>> = { en, ru };
const LANG_KEY = 'pc.lang';

function initialLang(): Lang {
  const stored = localStorage.getItem(LANG_KEY);
  if (stored === 'ru' || stored === 'en') return stored;
  return (navigator.languages ?? [navigator.language]).some((l) => l.toLowerCase().startsWith('ru')) ? 'ru' : 'en';
}

let current: Lang = initialLang();
const listeners = new Set<(l: Lang) => void>();

export function setLang(lang: Lang): void {
  current = lang;
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  for (const l of listeners) l(lang);
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  // An unknown key (a code the server added later) shows as itself instead of breaking the page.
  return (DICTS[current][key] ?? String(key)).replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? `{${k}}`));
}

/** How providers are named everywhere in the UI (the built-in one in the page's language). */
export function providerTitle(id: string): string {
  return ({ gemini: 'Google Gemini', openai: 'OpenAI GPT Image', turbotext: 'Turbotext' } as Record<string, string>)[id] ?? (id === 'local' ? t('providerLocal') : id);
}

/** A provider's readiness reason in words. */
export function providerReasonText(reason: string | undefined): string {
  if (reason === 'provider_not_configured') return t('noKey');
  if (reason === 'public_base_url_missing') return t('needsPublicUrl');
  return t('providerNotReady', { reason: reason ?? '' });
}

export function formatDate(iso: string | null): string {
  if (!iso) return t('never');
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : new Intl.NumberFormat(current).format(n);
}

/** Re-renders the calling component when the language changes. */
export function useLang(): Lang {
  const [lang, set] = useState(current);
  useEffect(() => {
    listeners.add(set);
    return () => void listeners.delete(set);
  }, []);
  return lang;
}

export function currentLang(): Lang {
  return current;
}

document.documentElement.lang = current;

/**
 * Names and help of the provider settings fields (the catalog's JSON Schema is in English): the
 * field forms show these in the chosen language, falling back to the schema's own text.
 */
const FIELDS: Record<string, { en: string; ru: string; ruHelp?: string }> = {
  prompt: { en: 'Prompt', ru: 'Промпт (задание для ИИ)', ruHelp: 'Что сделать с фото.' },
  model: { en: 'Model', ru: 'Модель', ruHelp: 'Модель, которая генерирует изображение.' },
  aspect_ratio: { en: 'Aspect ratio', ru: 'Соотношение сторон', ruHelp: 'Не задано — как у исходного фото.' },
  image_size: { en: 'Image size', ru: 'Размер изображения', ruHelp: 'Если модель предлагает выбор; больший размер отвечает дольше.' },
  input_max_side: { en: 'Photo size sent (px)', ru: 'Размер фото для ИИ (px)', ruHelp: 'Длинная сторона фото, отправляемого модели. По умолчанию — рабочий размер модели для выбранного размера результата; больше — дольше по медленному интернету.' },
  thinking_level: { en: 'Thinking level', ru: 'Уровень размышления', ruHelp: 'Сколько модель рассуждает перед рисованием; high — дольше.' },
  safety_threshold: { en: 'Safety threshold', ru: 'Порог фильтра безопасности', ruHelp: 'Для категорий: оскорбления, ненависть, откровенный и опасный контент.' },
  size: { en: 'Size', ru: 'Размер', ruHelp: 'Размер результата в пикселях; auto — на выбор модели.' },
  quality: { en: 'Quality', ru: 'Качество', ruHelp: 'Качество JPEG/WebP.' },
  output_format: { en: 'Output format', ru: 'Формат ответа' },
  output_compression: { en: 'Compression', ru: 'Сжатие', ruHelp: 'Только для jpeg/webp.' },
  background: { en: 'Background', ru: 'Фон', ruHelp: 'Цвет фона там, где фото не покрывает холст.' },
  input_fidelity: { en: 'Input fidelity', ru: 'Точность к исходнику', ruHelp: 'Только GPT Image 1 / 1.5 (новые модели решают сами): high точнее сохраняет лица.' },
  strength: { en: 'Strength', ru: 'Сила эффекта', ruHelp: 'Насколько сильно применяется эффект.' },
  seed: { en: 'Seed', ru: 'Seed (зерно)', ruHelp: 'Одинаковое зерно даёт повторяемый результат.' },
  scale: { en: 'Scale', ru: 'Масштаб (scale)' },
  negative_prompt: { en: 'Negative prompt', ru: 'Негативный промпт' },
  original_language: { en: 'Prompt language', ru: 'Язык промпта', ruHelp: 'Например, ru или en.' },
  delivery: { en: 'Delivery', ru: 'Получение результата', ruHelp: 'poll — опрос; webhook — Turbotext сам присылает результат.' },
  face_restore: { en: 'Restore the face', ru: 'Восстановить лицо', ruHelp: 'Turbotext дорисует заменённое лицо.' },
  style: { en: 'Style', ru: 'Стиль', ruHelp: 'bw — ч/б, sepia — сепия, vivid — ярче, cool/warm — холоднее/теплее, vintage — винтаж.' },
  max_side: { en: 'Max side (px)', ru: 'Наибольшая сторона (px)', ruHelp: 'Больше — уменьшается.' },
  output: { en: 'Output for the booth', ru: 'Что получает фотобудка' },
  format: { en: 'Format', ru: 'Формат', ruHelp: '«original» — как вернул провайдер.' },
  fit: { en: 'Fit', ru: 'Вписывание', ruHelp: 'cover — заполнить (с обрезкой), contain — вписать целиком.' },
  padding_percent: { en: 'Padding (%)', ru: 'Отступ (%)', ruHelp: 'Поле вокруг фото, в % от шаблона.' },
  scale_percent: { en: 'Photo height (%)', ru: 'Высота фото (%)', ruHelp: 'Относительно фона.' },
};

export function fieldLabel(name: string, fallback?: string): string {
  return FIELDS[name]?.[current] ?? fallback ?? name;
}

export function fieldHelp(name: string, fallback?: string): string | undefined {
  return current === 'ru' ? (FIELDS[name]?.ruHelp ?? fallback) : fallback;
}

/** Operation titles and descriptions, and template slots, in Russian (the catalog speaks English). */
const OPERATIONS_RU: Record<string, [string, string]> = {
  'local/neutral': ['Нейтральная', 'Поворот по EXIF, уменьшение до наибольшей стороны, перекодирование в JPEG.'],
  'local/style': ['Стилевой фильтр', 'Цветовой стиль (ч/б, сепия, яркий, холодный, тёплый, винтаж) поверх фото.'],
  'local/frame': ['Рамка / шаблон', 'Фото помещается в рамку: прозрачное окно шаблона или внутренняя область непрозрачного фона.'],
  'local/background': ['Фон', 'Фото (например, PNG без фона) поверх фонового изображения, по центру снизу.'],
  'gemini/edit': ['Редактирование Gemini', 'Фото (и необязательные референсы) с промптом отправляются в Gemini.'],
  'openai/edit': ['Редактирование GPT Image', 'Фото (и необязательные референсы) с промптом отправляются в OpenAI. 15–60 с.'],
  'turbotext/generate_image2image': ['Изображение по изображению', 'Перерисовывает фото по промпту.'],
  'turbotext/mix_images': ['Перенос стиля', 'Переносит стиль шаблона на фото.'],
  'turbotext/deepfake_photo': ['Замена лица', 'Лицо гостя переносится на целевой шаблон.'],
};
const TEMPLATES_RU: Record<string, string> = {
  frame: 'Рамка (PNG с прозрачным окном или фон)',
  background: 'Фоновое изображение',
  reference: 'Референс (стиль, рамка, фон…)',
  reference_2: 'Второй референс',
  style: 'Изображение стиля',
  target: 'Целевое изображение (чьё лицо заменяется)',
};

export function operationText(provider: string, op: { id: string; title: string; description: string }): { title: string; description: string } {
  const ru = current === 'ru' ? OPERATIONS_RU[`${provider}/${op.id}`] : undefined;
  return ru ? { title: ru[0], description: ru[1] } : { title: op.title, description: op.description };
}

export function templateTitle(key: string, fallback: string): string {
  return current === 'ru' ? (TEMPLATES_RU[key] ?? fallback) : fallback;
}
