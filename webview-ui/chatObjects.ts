// The chat's Object list, kept off the DOM for unit tests. With objects, one option each; an image with none
// gets one disabled line that says where a region comes from instead, since an empty list beside a greyed Add
// region told a new user nothing.
export interface ObjectOption {
  label: string;
  value: string;
  disabled: boolean;
}

export const NO_OBJECTS = 'No objects yet: mark a region in the editor, then Add to chat (C)';

export function objectOptions(objects: readonly { id: number; label: string }[]): ObjectOption[] {
  if (!objects.length) return [{ label: NO_OBJECTS, value: '', disabled: true }];
  return objects.map((o) => ({ label: o.label, value: String(o.id), disabled: false }));
}
