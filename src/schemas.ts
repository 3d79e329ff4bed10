/** Schema helpers every route file uses (TypeBox). */
import { Type, type TSchema, type TSchemaOptions } from 'typebox';

/** One of these strings: the schema lists them, the type is their union (not `string`). */
export function LiteralUnion<const T extends readonly string[]>(values: T, options?: TSchemaOptions) {
  return Type.Unsafe<T[number]>(Type.Union(values.map((v) => Type.Literal(v)), options));
}

/** `T` or null. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
