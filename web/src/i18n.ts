import { h, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { paths } from './api-types';

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
  navMain: 'Sections',
  msUnit: 'ms',
  setAtFirstStart: 'the first start',
  field_original_filename: 'File name',
  field_name: 'Booth name (name)',
  field_user_id: 'Booth user (user_id)',
  field_test_run_by: 'Test run by',
  field_unsaved_settings: 'With unsaved settings',
  field_fields_dropped: 'Fields dropped (sent before the password)',
  defaultSlotName: 'Slot {n}',
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
  modelUnavailable:
    "The provider no longer offers {model} to this key (its live model list): this slot's shots will fail until it moves to another model.",
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
  publicUrlLan:
    "No public address is set: booth URLs and guests' links and QR codes use this server's network address {url}. They work on this network only — guests on mobile data cannot open them, and Turbotext cannot be used. Set the public address in Settings.",
  publicUrlNone:
    'This server knows no address other machines can reach: set the public address in Settings (or let it listen on all interfaces). Guest QR codes are left off the prints until then.',
  guestLinkNone: 'No guest link: set the public address in Settings so that phones can open it.',
  guestLinkLan: 'This link works on the local network only (no public address is set in Settings).',
  publicAddress: 'Public address',
  boothWasTold: 'The booth was told: “{message}”',
  publicAddressLabel: 'Address guests and AI providers reach this server at',
  publicAddressHelp:
    'For example https://photos.example.com (behind your router or proxy). Every guest QR code and link uses it: on the print, the job page, the live screen and shared galleries. Leave empty to use this machine’s network address.',
  publicAddressNow_environment:
    'Now: {url} — set by PHOTOCHANGER_PUBLIC_BASE_URL on the server, which wins over this field.',
  publicAddressNow_settings: 'Now: {url} (saved here).',
  publicAddressNow_lan:
    'Now: {url} — this machine’s network address: only phones on this network can open guest links.',
  publicAddressNow_none: 'Now: none — guest QR codes are left off the prints, and each job says so.',
  publicAddressCheck: 'Check',
  checking: 'Checking…',
  addressCheck_reachable: 'PhotoChanger answers at {url}.',
  addressCheck_local_only:
    'PhotoChanger answers at {url}, but it is a private address: only phones on this network can open it (not on mobile data).',
  addressCheck_unreachable:
    'This server could not open {url}. If it is a public address, guests may still reach it: open it on a phone on mobile data to be sure.',
  addressCheck_not_photochanger:
    'Something other than PhotoChanger answers at {url} (a proxy not forwarding, another service).',
  addressCheck_unset: 'No address to check: enter one above.',
  guestQr_public: 'Guest QR code on the print → {url}',
  guestQr_local_only:
    'Guest QR code on the print → {url}: phones on this network only. Set a public address in Settings.',
  guestQr_left_off:
    'Guest QR code is left off the prints: no address guests can reach. Set the public address in Settings.',
  notice_guest_qr_left_off_no_address:
    'The guest QR code was left off this print: no address guests can reach was known (set the public address in Settings).',
  notice_guest_qr_local_address:
    'The guest QR code on this print points at this machine’s network address: only phones on that network can open it (set the public address in Settings).',
  lastHour: 'Last hour',
  failoverTitle: 'Fallback providers',
  failoverHelp:
    "When this slot's provider fails (unavailable, rate limited, no image, too slow for its share of the time), the next one is tried within the same response window, so the booth still gets an AI photo.",
  failoverStep: 'Fallback {n}',
  failoverAdd: 'Add a fallback provider',
  failoverOnSafety: 'Also try the next provider when one refuses the photo for safety reasons',
  latencyLegend: 'p50 — blue · p95 — amber · p99 — red',
  oldPasswordAlert:
    'A booth sent a wrong password {n} time(s) in the last hour: it probably still uses the old ingest password (Settings).',
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
  refusal_uploads_busy: 'too many photos without a password at once',
  refusal_too_many_requests: 'too many requests from this address',
  refusal_client_gone: 'the booth hung up',
  refusal_internal_error: 'server error',
  boothRequests: 'Booth check: its last requests',
  boothRequestsHelp:
    'What this booth really sends, newest first: the parts in order (name, size, declared type), the headers and the URL query keys. Passwords, field values and photos are never kept. For wiring a booth without AI calls, set a slot to Built-in → Booth test.',
  noBoothRequests: 'No request of this booth is kept yet.',
  boothRequestParts: 'Parts',
  boothRequestHeaders: 'Headers',
  boothRequestQuery: 'URL query',
  boothRequestTimings: 'Body read in {body} ms, answered in {total} ms',
  boothRequestAnswer: 'Answer',
  filePart: 'file',
  noKey: 'No API key configured for this provider: its ingests will fail.',
  checkKey: 'Check',
  keyCheck_valid: 'Valid',
  keyModels: '{n} image models available to this key',
  keyCheck_invalid: 'Refused by the provider',
  keyCheck_unreachable: 'Provider unreachable',
  keyCheck_missing: 'No key',
  keyCheck_unchecked: 'Cannot be checked',
  needsPublicUrl:
    'Turbotext downloads the photo from this server: set PHOTOCHANGER_PUBLIC_BASE_URL to an address reachable from the internet (e.g. https://booth.example.com), or its ingests will fail.',
  providerNotReady: 'Provider not ready: {reason}',
  slotEditor: 'Slot {id}',
  settingsHeading: 'Operation settings',
  templates: 'Template images',
  dropHere: 'Drop an image here or choose a file',
  chooseFile: 'Choose file',
  uploadLimit: 'Upload limit (MB, empty = default)',
  conflictTitle: 'Someone else changed this slot',
  conflictBody:
    'The slot was saved by someone else after you opened it. Reload their version (your changes are lost), or overwrite it with yours.',
  reload: 'Reload',
  overwrite: 'Overwrite with mine',
  fixErrors: 'Please fix the highlighted fields.',
  testRun: 'Test run',
  testRunHelp:
    'Send a photo through the settings of this form, saved or not, like the booth does (same queue and deadline). The booth keeps getting the saved settings until you save.',
  runTest: 'Run test',
  running: 'Running…',
  before: 'Before',
  after: 'After',
  timings: 'Queue wait {wait} ms · processing {processing} ms · total {total} ms',
  chars: '{n} / {max} characters',
  settingsTitle: 'Settings',
  ingestPassword: 'Ingest password (DSLR Remote Pro)',
  ingestPasswordHelp:
    'The current password is never shown. Set a new one: the booth must use it from the next shot on.',
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
  tSyncHelp:
    'How long the booth waits for the processed photo. If the provider is slower, the booth gets a timeout answer (504) and the guest can pick the result up later. 45–60 s.',
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
  navGallery: 'Gallery',
  galleryTitle: 'Gallery',
  outcomeFailed: 'failed',
  allResults: 'all',
  from: 'From',
  to: 'To',
  loadMore: 'Show more',
  noPhotos: 'No photos match yet. New shots appear here by themselves.',
  exportZip: 'Download ZIP',
  exportHelp: 'All photos of the chosen slot and time range in one archive, named by time and slot.',
  download: 'Download',
  openGuestPage: 'Guest page',
  close: 'Close',
  answeredBy: 'Answered by',
  finishedAt: 'Finished',
  fileSize: 'Size',
  expiresAt: 'Kept until',
  sharesTitle: 'Share with guests',
  sharesHelp:
    'A public gallery of the chosen slots for guests: no account needed, nothing of other slots. Print its QR code on a table card.',
  shareTitle: 'Title (shown to guests)',
  shareSlots: 'Slots',
  shareHours: 'Open for (hours)',
  shareHoursHelp: 'At most as long as photos are kept ({hours} h now).',
  createShare: 'Create link',
  revoke: 'Revoke',
  revokeConfirm: 'Revoke this link? Guests who open it will see that the gallery is closed.',
  share_active: 'active',
  share_expired: 'expired',
  share_revoked: 'revoked',
  shareUntil: 'until {time}',
  noShares: 'No links yet.',
  liveScreen: 'Live screen',
  liveScreenHelp: 'Full screen for a TV next to the booth: each new photo, big, with its QR code.',
  liveWaiting: 'Waiting for the next photo…',
  liveScan: 'Scan to get your photo',
  liveOffline: 'Reconnecting…',
  lastShot: 'Last photo',
  retentionWords:
    "Guests' links, QR codes and shared galleries work for {period} after each photo; then the photos are deleted. Extend it before the event (up to 30 days).",
  days: '{n} d',
  hoursShort: '{n} h',
  whatHappened: 'What happened',
  happened_succeeded: '{provider} processed the photo in {seconds} s; the booth got the result.',
  happened_timeout:
    'No result within the response window: the booth got a timeout answer (504) and printed the original.',
  happened_provider_error:
    '{provider} did not return a photo: {reason}. The booth got an error answer (502) and printed the original.',
  happened_cancelled: 'The booth disconnected before the answer; the job was stopped.',
  happened_internal_error: 'The server failed unexpectedly (see the log with the correlation id).',
  happened_running: 'Waiting in the queue or being processed.',
  callsSummary: 'attempt {attempt}: {outcome}{status}, {ms} ms',
  callOutcome_success: 'success',
  callOutcome_retry: 'retried',
  callOutcome_failure: 'failed',
  callOutcome_aborted: 'stopped',
  rawData: 'Raw data (JSON)',
  noFields: 'The booth sent no text fields.',
  refusedTitle: 'Refused',
  boothsTitle: 'Booths',
  monitorViews: 'Monitor views',
  refusedHelp:
    'Booth uploads refused before a job was made, newest first. Under a flood only a sample is kept; the statistics count every one.',
  noRefusalsYet: 'No booth upload has been refused.',
  time: 'Time',
  reason: 'Reason',
  booth: 'Booth',
  address: 'Address',
  showMore: 'Show more',
  boothsHelp:
    'Each booth as its uploads name it (DSLR Remote Pro "name" or "user_id", and its address), in the last 24 hours.',
  noBooths: 'No booth has sent anything in the last 24 hours.',
  lastContact: 'Last contact',
  lastResult: 'Last result',
  lastRefusal: 'Last refusal',
  boothCounts: 'In 24 h',
  boothCountsValue: '{jobs} photos, {refusals} refused',
  boothOldPassword: 'This booth still uses the old password: enter the new ingest password in DSLR Remote Pro.',
  lastSuccess: 'Last success',
  lastError: 'Last error',
  storageTitle: 'Storage',
  storage_results: 'Results',
  storage_thumbs: 'Thumbnails',
  storage_templates: 'Templates',
  storage_payloads: 'Photos being processed',
  storage_temporary: 'Temporary links',
  diskFree: 'Free on the disk: {free} of {total}',
  accountTitle: 'Account: {name}',
  ownPassword: 'Your password',
  ownPasswordHelp: 'Your other sessions and API tokens stop working; this one goes on.',
  currentPassword: 'Current password',
  repeatPassword: 'New password again',
  passwordsDiffer: 'The two new passwords differ.',
  passwordRule: 'At least {n} characters.',
  usernameRule: 'Latin letters, digits and . _ @ - (at most 64).',
  changePassword: 'Change password',
  ownPasswordChanged: 'Your password is changed.',
  wrongCurrentPassword: 'The current password is wrong.',
  passwordTooShort: 'The password is too short.',
  badUsername: 'Use Latin letters, digits and . _ @ - only.',
  invalidValue: 'This value is not accepted.',
  accountsTitle: 'Accounts',
  you: 'you',
  accountCreated: 'since {when}',
  permissions: 'Permissions',
  perm_slots_read: 'See slots',
  perm_slots_write: 'Change slots, run tests',
  perm_stats_read: 'See statistics, jobs and the gallery',
  perm_settings_read: 'See settings',
  perm_settings_write: 'Change settings (ingest password, keys)',
  perm_accounts_write: 'Manage accounts',
  savePermissions: 'Save permissions',
  removeAccount: 'Remove',
  removeAccountConfirm: 'Remove the account {name}? Its sessions end at once.',
  accountRemoved: 'The account is removed.',
  setPasswordFor: 'New password for {name}',
  setPassword: 'Set password',
  accountPasswordSet: "Password set; the account's sessions have ended.",
  addAccount: 'Add an account',
  lastAccountManager: 'This is the last account that can manage accounts: give another account that permission first.',
  ownAccount: 'You cannot remove your own account.',
  accountExists: 'An account with this name already exists.',
  myAccount: 'My account',
  shareLinkLan:
    "This link and its QR code work only for phones on the venue's network (PHOTOCHANGER_PUBLIC_BASE_URL is not set): guests on mobile data cannot open it.",
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
  navMain: 'Разделы',
  msUnit: 'мс',
  setAtFirstStart: 'первый запуск',
  field_original_filename: 'Имя файла',
  field_name: 'Имя будки (name)',
  field_user_id: 'Пользователь будки (user_id)',
  field_test_run_by: 'Пробный запуск',
  field_unsaved_settings: 'С несохранёнными настройками',
  field_fields_dropped: 'Отброшено полей (пришли до пароля)',
  defaultSlotName: 'Слот {n}',
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
  modelUnavailable:
    'Провайдер больше не предлагает модель {model} для этого ключа (по его текущему списку моделей): снимки этого слота будут завершаться ошибкой, пока слот не переведён на другую модель.',
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
  publicUrlLan:
    'Публичный адрес не задан: адреса для фотобудки, ссылки и QR-коды для гостей указывают на сетевой адрес сервера {url}. Они работают только в этой сети — гости с мобильным интернетом их не откроют, а Turbotext недоступен. Задайте публичный адрес в Настройках.',
  publicUrlNone:
    'У сервера нет адреса, доступного с других устройств: задайте публичный адрес в Настройках (или слушайте все интерфейсы). До тех пор QR-код для гостей на отпечатки не ставится.',
  guestLinkNone: 'Ссылки для гостя нет: задайте публичный адрес в Настройках, чтобы её можно было открыть с телефона.',
  guestLinkLan: 'Эта ссылка работает только в локальной сети (публичный адрес в Настройках не задан).',
  publicAddress: 'Публичный адрес',
  boothWasTold: 'Фотобудке ответили: «{message}»',
  publicAddressLabel: 'Адрес, по которому сервер доступен гостям и ИИ-провайдерам',
  publicAddressHelp:
    'Например, https://photos.example.com (через ваш роутер или прокси). Его используют все QR-коды и ссылки для гостей: на отпечатке, на странице задания, на живом экране и в общих галереях. Оставьте пустым, чтобы использовать сетевой адрес этого компьютера.',
  publicAddressNow_environment:
    'Сейчас: {url} — задан переменной PHOTOCHANGER_PUBLIC_BASE_URL на сервере, она важнее этого поля.',
  publicAddressNow_settings: 'Сейчас: {url} (сохранён здесь).',
  publicAddressNow_lan:
    'Сейчас: {url} — сетевой адрес этого компьютера: ссылки для гостей откроются только с телефонов в этой сети.',
  publicAddressNow_none:
    'Сейчас: не задан — QR-код для гостей на отпечатки не ставится, и каждое задание об этом сообщает.',
  publicAddressCheck: 'Проверить',
  checking: 'Проверяем…',
  addressCheck_reachable: 'PhotoChanger отвечает по адресу {url}.',
  addressCheck_local_only:
    'PhotoChanger отвечает по адресу {url}, но это частный адрес: открыть его смогут только телефоны в этой сети (не через мобильный интернет).',
  addressCheck_unreachable:
    'Сервер не смог открыть {url}. Если это публичный адрес, гости всё равно могут его открыть: проверьте с телефона через мобильный интернет.',
  addressCheck_not_photochanger:
    'По адресу {url} отвечает не PhotoChanger (прокси не пересылает запросы или там другая служба).',
  addressCheck_unset: 'Нечего проверять: введите адрес выше.',
  guestQr_public: 'QR-код для гостя на отпечатке → {url}',
  guestQr_local_only:
    'QR-код для гостя на отпечатке → {url}: только для телефонов в этой сети. Задайте публичный адрес в Настройках.',
  guestQr_left_off:
    'QR-код для гостя на отпечатки не ставится: нет адреса, доступного гостям. Задайте публичный адрес в Настройках.',
  notice_guest_qr_left_off_no_address:
    'QR-код для гостя не поставлен на этот отпечаток: не было адреса, доступного гостям (задайте публичный адрес в Настройках).',
  notice_guest_qr_local_address:
    'QR-код на этом отпечатке ведёт на сетевой адрес этого компьютера: открыть его смогут только телефоны в этой сети (задайте публичный адрес в Настройках).',
  lastHour: 'Последний час',
  failoverTitle: 'Резервные провайдеры',
  failoverHelp:
    'Если провайдер слота не справился (недоступен, лимит запросов, нет изображения, не успел за свою долю времени), пробуется следующий — в том же окне ответа, и фотобудка всё равно получает ИИ-фото.',
  failoverStep: 'Резерв {n}',
  failoverAdd: 'Добавить резервного провайдера',
  failoverOnSafety: 'Пробовать следующего провайдера и при отказе по соображениям безопасности',
  latencyLegend: 'p50 — синий · p95 — жёлтый · p99 — красный',
  oldPasswordAlert:
    'Фотобудка прислала неверный пароль {n} раз(а) за последний час: вероятно, в ней остался старый пароль (см. Настройки).',
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
  refusal_uploads_busy: 'слишком много фото без пароля одновременно',
  refusal_too_many_requests: 'слишком много запросов с этого адреса',
  refusal_client_gone: 'фотобудка оборвала соединение',
  refusal_internal_error: 'ошибка сервера',
  boothRequests: 'Проверка фотобудки: последние запросы',
  boothRequestsHelp:
    'Что эта фотобудка присылает на самом деле, новые сверху: части запроса по порядку (имя, размер, заявленный тип), заголовки и ключи параметров URL. Пароли, значения полей и фото не сохраняются. Чтобы подключить будку без вызовов ИИ, выберите в слоте «Встроенный → Проверка фотобудки».',
  noBoothRequests: 'Запросов этой фотобудки пока нет.',
  boothRequestParts: 'Части',
  boothRequestHeaders: 'Заголовки',
  boothRequestQuery: 'Параметры URL',
  boothRequestTimings: 'Тело получено за {body} мс, ответ через {total} мс',
  boothRequestAnswer: 'Ответ',
  filePart: 'файл',
  noKey: 'Для этого провайдера не задан API-ключ: обработка будет завершаться ошибкой.',
  checkKey: 'Проверить',
  keyCheck_valid: 'Ключ работает',
  keyModels: 'доступно моделей изображений: {n}',
  keyCheck_invalid: 'Провайдер отклонил ключ',
  keyCheck_unreachable: 'Провайдер недоступен',
  keyCheck_missing: 'Ключ не задан',
  keyCheck_unchecked: 'Проверить нельзя',
  needsPublicUrl:
    'Turbotext скачивает фото с этого сервера: задайте PHOTOCHANGER_PUBLIC_BASE_URL — адрес, доступный из интернета (например, https://booth.example.com), иначе обработка будет завершаться ошибкой.',
  providerNotReady: 'Провайдер не готов: {reason}',
  slotEditor: 'Слот {id}',
  settingsHeading: 'Параметры операции',
  templates: 'Шаблоны',
  dropHere: 'Перетащите изображение сюда или выберите файл',
  chooseFile: 'Выбрать файл',
  uploadLimit: 'Лимит загрузки (МБ, пусто — по умолчанию)',
  conflictTitle: 'Слот изменил кто-то другой',
  conflictBody:
    'После того как вы открыли слот, его сохранил другой администратор. Загрузите его версию (ваши изменения пропадут) или перезапишите своей.',
  reload: 'Загрузить заново',
  overwrite: 'Перезаписать моей',
  fixErrors: 'Исправьте отмеченные поля.',
  testRun: 'Тестовый прогон',
  testRunHelp:
    'Отправить фото через настройки этой формы — сохранённые или нет — так же, как это делает фотобудка (та же очередь и срок ответа). Фотобудка получает сохранённые настройки, пока вы не нажмёте «Сохранить».',
  runTest: 'Запустить тест',
  running: 'Выполняется…',
  before: 'До',
  after: 'После',
  timings: 'Ожидание в очереди {wait} мс · обработка {processing} мс · всего {total} мс',
  chars: '{n} / {max} символов',
  settingsTitle: 'Настройки',
  ingestPassword: 'Пароль для фотобудки (DSLR Remote Pro)',
  ingestPasswordHelp:
    'Текущий пароль никогда не показывается. Задайте новый: фотобудка должна использовать его со следующего снимка.',
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
  tSyncHelp:
    'Сколько фотобудка ждёт обработанное фото. Если провайдер медленнее, будка получит ответ о тайм-ауте (504), а гость сможет забрать результат позже. 45–60 с.',
  retention: 'Хранить результаты (часы)',
  retentionHelp: 'После этого ссылки на результаты и страницы гостей отвечают «срок истёк».',
  purge: 'Удалить просроченные файлы сейчас',
  purgeConfirm:
    'Удалить сейчас все просроченные результаты, загрузки и временные ссылки? Действующие результаты и шаблоны сохранятся.',
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
  navGallery: 'Галерея',
  galleryTitle: 'Галерея',
  outcomeFailed: 'с ошибкой',
  allResults: 'все',
  from: 'С',
  to: 'По',
  loadMore: 'Показать ещё',
  noPhotos: 'Подходящих фото пока нет. Новые снимки появятся здесь сами.',
  exportZip: 'Скачать ZIP',
  exportHelp: 'Все фото выбранного слота и периода одним архивом; имена файлов — время и слот.',
  download: 'Скачать',
  openGuestPage: 'Страница гостя',
  close: 'Закрыть',
  answeredBy: 'Ответил',
  finishedAt: 'Готово',
  fileSize: 'Размер',
  expiresAt: 'Хранится до',
  sharesTitle: 'Поделиться с гостями',
  sharesHelp:
    'Публичная галерея выбранных слотов для гостей: без входа, ничего из других слотов. Распечатайте QR-код на карточку на стол.',
  shareTitle: 'Название (видят гости)',
  shareSlots: 'Слоты',
  shareHours: 'Открыта (часов)',
  shareHoursHelp: 'Не дольше, чем хранятся фото (сейчас {hours} ч).',
  createShare: 'Создать ссылку',
  revoke: 'Отозвать',
  revokeConfirm: 'Отозвать ссылку? Гости увидят, что галерея закрыта.',
  share_active: 'активна',
  share_expired: 'истекла',
  share_revoked: 'отозвана',
  shareUntil: 'до {time}',
  noShares: 'Ссылок пока нет.',
  liveScreen: 'Экран «последний кадр»',
  liveScreenHelp: 'Полный экран для телевизора рядом с фотобудкой: каждое новое фото крупно, с QR-кодом.',
  liveWaiting: 'Ждём следующее фото…',
  liveScan: 'Наведите камеру — фото у вас',
  liveOffline: 'Переподключение…',
  lastShot: 'Последнее фото',
  retentionWords:
    'Ссылки гостей, QR-коды и общие галереи работают {period} после каждого фото, затем фото удаляются. Продлите срок до мероприятия (до 30 дней).',
  days: '{n} дн.',
  hoursShort: '{n} ч',
  whatHappened: 'Что произошло',
  happened_succeeded: '{provider} обработал фото за {seconds} с; фотобудка получила результат.',
  happened_timeout:
    'Результата не было в окне ответа: фотобудка получила ответ «таймаут» (504) и напечатала исходное фото.',
  happened_provider_error:
    '{provider} не вернул фото: {reason}. Фотобудка получила ответ-ошибку (502) и напечатала исходное фото.',
  happened_cancelled: 'Фотобудка отключилась до ответа; задача остановлена.',
  happened_internal_error: 'Неожиданная ошибка сервера (см. журнал по correlation id).',
  happened_running: 'Ждёт в очереди или обрабатывается.',
  callsSummary: 'попытка {attempt}: {outcome}{status}, {ms} мс',
  callOutcome_success: 'успех',
  callOutcome_retry: 'повтор',
  callOutcome_failure: 'ошибка',
  callOutcome_aborted: 'остановлена',
  rawData: 'Исходные данные (JSON)',
  noFields: 'Фотобудка не прислала текстовых полей.',
  refusedTitle: 'Отклонённые',
  boothsTitle: 'Фотобудки',
  monitorViews: 'Разделы монитора',
  refusedHelp:
    'Загрузки фотобудок, отклонённые до создания задачи, новые сверху. При потоке отказов хранится только выборка; статистика считает все.',
  noRefusalsYet: 'Ни одна загрузка фотобудки не была отклонена.',
  time: 'Время',
  reason: 'Причина',
  booth: 'Фотобудка',
  address: 'Адрес',
  showMore: 'Показать ещё',
  boothsHelp:
    'Каждая фотобудка так, как её называют загрузки (поле «name» или «user_id» DSLR Remote Pro и адрес), за последние 24 часа.',
  noBooths: 'За последние 24 часа ни одна фотобудка ничего не прислала.',
  lastContact: 'Последняя связь',
  lastResult: 'Последний результат',
  lastRefusal: 'Последний отказ',
  boothCounts: 'За 24 ч',
  boothCountsValue: 'фото: {jobs}, отклонено: {refusals}',
  boothOldPassword: 'В этой фотобудке остался старый пароль: введите новый пароль загрузки в DSLR Remote Pro.',
  lastSuccess: 'Последний успех',
  lastError: 'Последняя ошибка',
  storageTitle: 'Хранилище',
  storage_results: 'Результаты',
  storage_thumbs: 'Миниатюры',
  storage_templates: 'Шаблоны',
  storage_payloads: 'Фото в обработке',
  storage_temporary: 'Временные ссылки',
  diskFree: 'Свободно на диске: {free} из {total}',
  accountTitle: 'Учётная запись: {name}',
  ownPassword: 'Ваш пароль',
  ownPasswordHelp: 'Другие ваши сеансы и API-токены перестанут работать; этот сеанс продолжится.',
  currentPassword: 'Текущий пароль',
  repeatPassword: 'Новый пароль ещё раз',
  passwordsDiffer: 'Новые пароли не совпадают.',
  passwordRule: 'Не короче {n} символов.',
  usernameRule: 'Латинские буквы, цифры и . _ @ - (не длиннее 64).',
  changePassword: 'Сменить пароль',
  ownPasswordChanged: 'Пароль изменён.',
  wrongCurrentPassword: 'Текущий пароль неверен.',
  passwordTooShort: 'Пароль слишком короткий.',
  badUsername: 'Только латинские буквы, цифры и . _ @ -.',
  invalidValue: 'Это значение не подходит.',
  accountsTitle: 'Учётные записи',
  you: 'вы',
  accountCreated: 'с {when}',
  permissions: 'Права',
  perm_slots_read: 'Видеть слоты',
  perm_slots_write: 'Менять слоты, запускать тесты',
  perm_stats_read: 'Видеть статистику, задачи и галерею',
  perm_settings_read: 'Видеть настройки',
  perm_settings_write: 'Менять настройки (пароль загрузки, ключи)',
  perm_accounts_write: 'Управлять учётными записями',
  savePermissions: 'Сохранить права',
  removeAccount: 'Удалить',
  removeAccountConfirm: 'Удалить учётную запись {name}? Её сеансы сразу завершатся.',
  accountRemoved: 'Учётная запись удалена.',
  setPasswordFor: 'Новый пароль для {name}',
  setPassword: 'Задать пароль',
  accountPasswordSet: 'Пароль задан; сеансы этой учётной записи завершены.',
  addAccount: 'Добавить учётную запись',
  lastAccountManager:
    'Это последняя учётная запись, которая может управлять учётными записями: сначала дайте это право другой.',
  ownAccount: 'Нельзя удалить собственную учётную запись.',
  accountExists: 'Учётная запись с таким именем уже есть.',
  myAccount: 'Моя учётная запись',
  shareLinkLan:
    'Эта ссылка и её QR-код работают только для телефонов в сети площадки (PHOTOCHANGER_PUBLIC_BASE_URL не задан): гости с мобильным интернетом её не откроют.',
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
/** Pages to render again: the language changed, or the providers' own words arrived. */
const listeners = new Set<() => void>();

export function setLang(lang: Lang): void {
  current = lang;
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  for (const l of listeners) l();
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  // An unknown key (a code the server added later) shows as itself instead of breaking the page.
  return (DICTS[current][key] ?? String(key)).replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? `{${k}}`));
}

/** One language's words for a provider, as its driver gives them in GET /api/providers (`labels`). */
export type ProviderLabels = NonNullable<
  paths['/api/providers']['get']['responses'][200]['content']['application/json']['providers'][number]['labels']['ru']
>;

/** The providers' own words (src/providers/<id>/labels.ts), kept from the catalog once loaded. */
const providerWords = new Map<
  string,
  { title: string; labels: Partial<Record<Lang, ProviderLabels>>; operations: Map<string, string> }
>();

export function rememberProviders(
  list: ReadonlyArray<{
    id: string;
    title: string;
    labels: Partial<Record<Lang, ProviderLabels>>;
    operations?: ReadonlyArray<{ id: string; title: string }>;
  }>,
): void {
  for (const p of list)
    providerWords.set(p.id, {
      title: p.title,
      labels: p.labels,
      operations: new Map((p.operations ?? []).map((o) => [o.id, o.title])),
    });
  for (const l of listeners) l();
}

function wordsOf(provider: string | undefined): ProviderLabels | undefined {
  return provider === undefined ? undefined : providerWords.get(provider)?.labels[current];
}

/** How providers are named everywhere in the UI, in the page's language (the id until the catalog is loaded). */
export function providerTitle(id: string): string {
  return wordsOf(id)?.title ?? providerWords.get(id)?.title ?? id;
}

/** HTTP status of each refusal code (the statistics count refusals by code). */
export const REFUSAL_STATUS: Record<string, number> = {
  invalid_request: 400,
  invalid_password: 401,
  slot_not_found: 404,
  upload_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  queue_busy: 429,
  too_many_attempts: 429,
  queue_unavailable: 503,
  insufficient_storage: 507,
};

/** A refusal's code in words (a code the UI does not know shows as itself). */
export function refusalLabel(code: string): string {
  const key = `refusal_${code}` as MessageKey;
  return key in DICTS[current] ? t(key) : code;
}

/** Bytes as an operator reads them: 1.2 GB, 340 MB. */
export function formatBytes(n: number): string {
  const units = current === 'ru' ? ['Б', 'КБ', 'МБ', 'ГБ', 'ТБ'] : ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${new Intl.NumberFormat(current, { maximumFractionDigits: v < 10 && i > 0 ? 1 : 0 }).format(v)} ${units[i]}`;
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

/**
 * A shot's moment, to the second (shots at a booth are seconds apart), without the year when it is
 * this year's: short enough for a phone's table.
 */
export function formatMoment(iso: string | null): string {
  if (!iso) return t('never');
  const d = new Date(iso);
  const thisYear = d.getFullYear() === new Date().getFullYear();
  return new Intl.DateTimeFormat(current, {
    day: 'numeric',
    month: 'short',
    ...(thisYear ? {} : { year: 'numeric' }),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(d);
}

/** Milliseconds with their unit in the page's language (ms, мс). */
export function formatMs(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `${formatNumber(n)} ${t('msUnit')}`;
}

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : new Intl.NumberFormat(current).format(n);
}

/** Re-renders the calling component when the language changes. */
export function useLang(): Lang {
  // A counter, not the language: the providers' words arriving must render again in the same language.
  const [, setVersion] = useState(0);
  useEffect(() => {
    const changed = () => setVersion((v) => v + 1);
    listeners.add(changed);
    return () => void listeners.delete(changed);
  }, []);
  return current;
}

export function currentLang(): Lang {
  return current;
}

document.documentElement.lang = current;

/**
 * Names and help of the provider settings fields (the catalog's JSON Schema is in English): the
 * field forms show these in the chosen language, falling back to the schema's own text.
 */
/**
 * The slot's own settings (what the booth receives, the guest QR code), shared by every provider.
 * A provider's settings are named by its driver (ProviderLabels).
 */
const FIELDS: Record<string, { en: string; ru: string; ruHelp?: string }> = {
  output: { en: 'Output for the booth', ru: 'Что получает фотобудка' },
  format: { en: 'Format', ru: 'Формат', ruHelp: '«как вернул провайдер» — без перекодирования.' },
  max_side: { en: 'Max side (px)', ru: 'Наибольшая сторона (px)', ruHelp: 'Больше — уменьшается.' },
  quality: { en: 'Quality', ru: 'Качество', ruHelp: 'Качество JPEG/WebP.' },
  guest_link: {
    en: 'QR code of the guest page on the print',
    ru: 'QR-код страницы гостя на фото',
    ruHelp: 'Гость сканирует код с распечатки и скачивает фото. Код ведёт на публичный адрес (Настройки).',
  },
  enabled: {
    en: 'Enabled',
    ru: 'Включено',
    ruHelp: 'Печатать на фото QR-код страницы гостя (он ведёт на публичный адрес из Настроек).',
  },
  position: { en: 'Corner', ru: 'Угол', ruHelp: 'Угол фото, в котором стоит код.' },
  size_percent: {
    en: 'Size (% of the short side)',
    ru: 'Размер (% от короткой стороны)',
    ruHelp: 'Сторона QR-кода в процентах от короткой стороны фото.',
  },
  margin_percent: {
    en: 'Margin (%)',
    ru: 'Отступ от края (%)',
    ruHelp: 'Расстояние от краёв фото, в % от короткой стороны.',
  },
  caption: { en: 'Caption', ru: 'Подпись', ruHelp: 'Одна строка под кодом, например «Скачать фото».' },
  plate: { en: 'Plate', ru: 'Подложка', ruHelp: 'Светлая или тёмная подложка под кодом.' },
};

/** A settings field's label: the provider's word for its own field (top level), else the slot's own. */
export function fieldLabel(name: string, fallback?: string, provider?: string): string {
  return wordsOf(provider)?.fields?.[name]?.title ?? FIELDS[name]?.[current] ?? fallback ?? name;
}

export function fieldHelp(name: string, fallback?: string, provider?: string): string | undefined {
  const own = wordsOf(provider)?.fields?.[name];
  if (own) return own.description ?? (current === 'en' ? fallback : undefined);
  // The schema's own description is English: in Russian only our words are shown, or none.
  return current === 'ru' ? FIELDS[name]?.ruHelp : fallback;
}

/** What the booth sent (and we added) with a photo, named in words where we know the field; other fields as sent. */
export function boothFieldLabel(key: string): ComponentChildren {
  const known: Record<string, MessageKey> = {
    original_filename: 'field_original_filename',
    name: 'field_name',
    user_id: 'field_user_id',
    test_run_by: 'field_test_run_by',
    unsaved_settings: 'field_unsaved_settings',
    fields_dropped: 'field_fields_dropped',
  };
  const label = known[key];
  return label ? t(label) : h('code', null, key);
}

/**
 * The server's own sentences (validation of a form, the public address) in Russian: the schema
 * checker's phrases and ours, by pattern. In English, and for a sentence not listed, as sent.
 */
const RU_SERVER_WORDS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^must be <= (.+)$/, (m) => `не больше ${m[1]}`],
  [/^must be >= (.+)$/, (m) => `не меньше ${m[1]}`],
  [/^must be < (.+)$/, (m) => `меньше ${m[1]}`],
  [/^must be > (.+)$/, (m) => `больше ${m[1]}`],
  [/^must not have fewer than (\d+) characters$/, (m) => `не короче ${m[1]} симв.`],
  [/^must not have more than (\d+) characters$/, (m) => `не длиннее ${m[1]} симв.`],
  [/^must be integer$/, () => 'нужно целое число'],
  [/^must be number$/, () => 'нужно число'],
  [/^must be boolean$/, () => 'нужно «да» или «нет»'],
  [/^must be string$/, () => 'нужен текст'],
  [
    /^must be equal to (?:constant|one of the allowed values)$|^must match a schema in anyOf$/,
    () => 'выберите одно из предложенных значений',
  ],
  [/^must match pattern .*$/, () => 'неверный формат'],
  [/^must match format "?([\w-]+)"?$/, (m) => `неверный формат (${m[1]})`],
  [/^must have required propert(?:y|ies) (.+)$/, (m) => `обязательные поля: ${m[1]}`],
  [/^must not have additional properties$/, () => 'лишние поля'],
  [/^(.+) offers (.+)$/, (m) => `${m[1]} предлагает только: ${m[2]}`],
  [
    /^(.+) fetches the photo by URL: set this server's public address first \(Settings → Public address\)$/,
    (m) => `${m[1]} скачивает фото по ссылке: сначала задайте публичный адрес (Настройки → Публичный адрес)`,
  ],
  [
    /^At most (\d+) bytes \(the server's and the provider's limit\)$/,
    (m) => `не больше ${m[1]} байт (предел сервера и провайдера)`,
  ],
  [/^The settings are invalid$/, () => 'Настройки неверны'],
  [
    /^The (?:public )?address is this machine itself \(loopback\): phones cannot open it$/,
    () => 'Этот адрес — сам компьютер (loopback): телефоны не смогут его открыть',
  ],
  [
    /^The (?:public )?address is not an address .*$/,
    () => 'Это не адрес (0.0.0.0 или :: означает «все интерфейсы»): укажите сетевой адрес компьютера или публичное имя',
  ],
  [
    /^The (?:public )?address is not an absolute http\(s\) URL.*$/,
    () => 'Адрес должен быть полным: http:// или https:// и имя (например, https://photos.example.com)',
  ],
  [
    /^The (?:public )?address must start with http:\/\/ or https:\/\/$/,
    () => 'Адрес должен начинаться с http:// или https://',
  ],
  [
    /^The (?:public )?address must not contain a user name or password$/,
    () => 'В адресе не должно быть имени пользователя или пароля',
  ],
  [/^The (?:public )?address must not have a query .*$/, () => 'В адресе не должно быть параметров (?…) и якоря (#…)'],
  [
    /^The (?:public )?address repeats the scheme.*$/,
    () => 'Схема повторяется: напишите её один раз, например https://booth.example.com',
  ],
];

export function serverWords(message: string): string {
  if (current !== 'ru') return message;
  for (const [pattern, words] of RU_SERVER_WORDS) {
    const m = pattern.exec(message);
    if (m) return words(m);
  }
  return message;
}

/** A slot's name as shown: the names the server gives new slots ("Slot 7") in the page's language. */
export function slotName(name: string): string {
  const m = /^Slot (\d+)$/.exec(name);
  return m ? t('defaultSlotName', { n: m[1]! }) : name;
}

/** An operation's name in the page's language, from its id (lists: the slot cards, jobs, the gallery). */
export function operationTitle(provider: string, operation: string): string {
  const title = providerWords.get(provider)?.operations.get(operation) ?? operation;
  return operationText(provider, { id: operation, title, description: '' }).title;
}

export function operationText(
  provider: string,
  op: { id: string; title: string; description: string },
): { title: string; description: string } {
  const own = wordsOf(provider)?.operations?.[op.id];
  return own
    ? { title: own.title, description: own.description ?? op.description }
    : { title: op.title, description: op.description };
}

export function templateTitle(provider: string, key: string, fallback: string): string {
  return wordsOf(provider)?.templates?.[key] ?? fallback;
}

/** Option values in words: the provider's own, else the slot's own settings' (the value itself when unknown). */
const OPTION_LABELS: Record<string, { en: string; ru: string }> = {
  original: { en: 'as the provider returned it', ru: 'как вернул провайдер' },
  jpeg: { en: 'JPEG', ru: 'JPEG' },
  png: { en: 'PNG', ru: 'PNG' },
  webp: { en: 'WebP', ru: 'WebP' },
  light: { en: 'light', ru: 'светлая' },
  dark: { en: 'dark', ru: 'тёмная' },
  'bottom-right': { en: 'bottom right', ru: 'справа внизу' },
  'bottom-left': { en: 'bottom left', ru: 'слева внизу' },
  'top-right': { en: 'top right', ru: 'справа вверху' },
  'top-left': { en: 'top left', ru: 'слева вверху' },
};

export function optionLabel(value: string, provider?: string): string {
  return wordsOf(provider)?.options?.[value] ?? OPTION_LABELS[value]?.[current] ?? value;
}
