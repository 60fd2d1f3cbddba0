// Validation of an FCM HTTP v1 send request, the subset a push sender uses, answering with the field
// Google names in its google.rpc.BadRequest detail (firebase.google.com/docs/reference/fcm/rest/v1/
// projects.messages). Proto JSON accepts both snake_case and lowerCamelCase names; so do we.

/** A bad request body: the field Google would blame and its description. */
export interface Violation {
  field?: string;
  description: string;
}

type FieldType = 'string' | 'bool' | 'int' | 'strings' | 'object' | 'stringMap' | 'duration' | 'any';

const MESSAGE: Record<string, FieldType> = {
  name: 'string',
  token: 'string',
  topic: 'string',
  condition: 'string',
  data: 'stringMap',
  notification: 'object',
  android: 'object',
  webpush: 'object',
  apns: 'object',
  fcm_options: 'object',
};
const NOTIFICATION: Record<string, FieldType> = { title: 'string', body: 'string', image: 'string' };
const ANDROID: Record<string, FieldType> = {
  collapse_key: 'string',
  priority: 'string',
  ttl: 'duration',
  restricted_package_name: 'string',
  data: 'stringMap',
  notification: 'object',
  fcm_options: 'object',
  direct_boot_ok: 'bool',
};
const ANDROID_NOTIFICATION: Record<string, FieldType> = {
  title: 'string',
  body: 'string',
  icon: 'string',
  color: 'string',
  sound: 'string',
  tag: 'string',
  click_action: 'string',
  body_loc_key: 'string',
  body_loc_args: 'strings',
  title_loc_key: 'string',
  title_loc_args: 'strings',
  channel_id: 'string',
  ticker: 'string',
  sticky: 'bool',
  event_time: 'string',
  local_only: 'bool',
  notification_priority: 'string',
  default_sound: 'bool',
  default_vibrate_timings: 'bool',
  default_light_settings: 'bool',
  vibrate_timings: 'any',
  visibility: 'string',
  notification_count: 'int',
  light_settings: 'object',
  image: 'string',
  bypass_proxy_notification: 'bool',
  proxy: 'string',
};
const ANDROID_PRIORITIES = new Set(['NORMAL', 'HIGH']);
/** Google: "Check that the payload data does not contain a key (such as from, or gcm, or any value prefixed by google)". */
const RESERVED_DATA_KEY = /^(from|gcm|google.*)$/i;
const DURATION = /^\d+(\.\d+)?s$/;
/** Characters seen in FCM registration tokens. */
export const TOKEN_CHARSET = /^[A-Za-z0-9_:-]+$/;

const TYPE_NAMES: Record<FieldType, string> = {
  string: 'TYPE_STRING',
  bool: 'TYPE_BOOL',
  int: 'TYPE_INT32',
  strings: 'TYPE_STRING',
  object: 'TYPE_MESSAGE',
  stringMap: 'TYPE_MESSAGE',
  duration: 'type.googleapis.com/google.protobuf.Duration',
  any: '',
};

/** Checks `{ message, validate_only }`; returns the first violation or undefined. */
export function validateRequest(body: unknown): Violation | undefined {
  if (!isObject(body)) return { description: 'Invalid JSON payload received. Expected an object.' };
  for (const key of Object.keys(body)) {
    const k = snake(key);
    if (k !== 'message' && k !== 'validate_only') {
      return { description: `Invalid JSON payload received. Unknown name "${key}": Cannot find field.` };
    }
  }
  const validateOnly = body.validate_only ?? body.validateOnly;
  if (validateOnly !== undefined && typeof validateOnly !== 'boolean') {
    return invalidValue('validate_only', 'bool', validateOnly);
  }
  const message = body.message;
  if (message === undefined) return { field: 'message', description: 'Message must be set.' };
  const bad = fields(message, 'message', MESSAGE);
  if (bad || !isObject(message)) return bad;
  return sub(message, 'notification', 'message', NOTIFICATION) ?? android(message) ?? target(message);
}

function android(message: Record<string, unknown>): Violation | undefined {
  const a = get(message, 'android');
  if (a === undefined) return undefined;
  const v =
    fields(a, 'message.android', ANDROID) ?? sub(a as Record<string, unknown>, 'notification', 'message.android', ANDROID_NOTIFICATION);
  if (v) return v;
  const priority = get(a as Record<string, unknown>, 'priority');
  if (typeof priority === 'string' && !ANDROID_PRIORITIES.has(priority.toUpperCase())) {
    return invalidValue('message.android.priority', 'type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority', priority);
  }
  return undefined;
}

function target(message: Record<string, unknown>): Violation | undefined {
  const targets = ['token', 'topic', 'condition'].filter((k) => message[k] !== undefined);
  if (targets.length === 0) return { field: 'message', description: 'Recipient of the message is not set.' };
  if (targets.length > 1) return { field: 'message', description: 'Exactly one of token, topic or condition must be set.' };
  if (targets[0] !== 'token') return { field: `message.${targets[0]}`, description: 'The simulator delivers to message.token only.' };
  return undefined;
}

function sub(parent: Record<string, unknown>, name: string, parentPath: string, spec: Record<string, FieldType>): Violation | undefined {
  const v = get(parent, name);
  return v === undefined ? undefined : fields(v, `${parentPath}.${name}`, spec);
}

/** Known names only, each of its type. The object itself must be a JSON object. */
function fields(value: unknown, path: string, spec: Record<string, FieldType>): Violation | undefined {
  if (!isObject(value)) return invalidValue(path, 'object', value);
  for (const [key, v] of Object.entries(value)) {
    const name = snake(key);
    const type = spec[name];
    if (type === undefined) {
      return { field: path, description: `Invalid JSON payload received. Unknown name "${key}" at '${path}': Cannot find field.` };
    }
    const bad = checkType(v, type, `${path}.${name}`);
    if (bad) return bad;
  }
  return undefined;
}

function checkType(v: unknown, type: FieldType, path: string): Violation | undefined {
  if (v === null) return undefined;
  switch (type) {
    case 'string':
      return typeof v === 'string' ? undefined : invalidValue(path, type, v);
    case 'bool':
      return typeof v === 'boolean' ? undefined : invalidValue(path, type, v);
    case 'int':
      return Number.isInteger(v) ? undefined : invalidValue(path, type, v);
    case 'strings':
      if (!Array.isArray(v)) return invalidValue(path, type, v);
      return v.every((s) => typeof s === 'string') ? undefined : invalidValue(path, type, v);
    case 'object':
      return isObject(v) ? undefined : invalidValue(path, type, v);
    case 'duration':
      return typeof v === 'string' && DURATION.test(v) ? undefined : invalidValue(path, type, v);
    case 'stringMap':
      return stringMap(v, path);
    case 'any':
      return undefined;
  }
}

/** Google numbers map entries: `message.data[0].value`. */
function stringMap(v: unknown, path: string): Violation | undefined {
  if (!isObject(v)) return invalidValue(path, 'stringMap', v);
  let i = 0;
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'string') return invalidValue(`${path}[${i}].value`, 'string', value);
    if (path === 'message.data' && RESERVED_DATA_KEY.test(key)) {
      return { field: `${path}[${i}].key`, description: `Invalid data payload key: ${key}` };
    }
    i++;
  }
  return undefined;
}

/** `type`: a FieldType, or the protobuf type name Google's message shows. */
function invalidValue(field: string, type: string, value: unknown): Violation {
  const typeName = (TYPE_NAMES as Record<string, string>)[type] ?? type;
  return { field, description: `Invalid value at '${field}' (${typeName}), ${JSON.stringify(value)}` };
}

function get(o: Record<string, unknown>, snakeName: string): unknown {
  return o[snakeName] ?? o[camel(snakeName)];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
