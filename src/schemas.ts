/** Schema helpers every route file uses (TypeBox). */
import { Type, type TSchema, type TSchemaOptions } from 'typebox';

/** One of these strings: the schema lists them, the type is their union (not `string`). */
export function LiteralUnion<const T extends readonly string[]>(values: T, options?: TSchemaOptions) {
  return Type.Unsafe<T[number]>(
    Type.Union(
      values.map((v) => Type.Literal(v)),
      options,
    ),
  );
}

/** `T` or null. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** A slot's id, slot-001 … slot-015 (the slot table's CHECK in migration 001 says the same). */
export const SLOT_ID_PATTERN = '^slot-[0-9]{3}$';
const SLOT_ID = new RegExp(SLOT_ID_PATTERN);

/** Whether `value` has a slot id's form (whether such a slot exists is the database's to say). */
export function isSlotId(value: string): boolean {
  return SLOT_ID.test(value);
}
