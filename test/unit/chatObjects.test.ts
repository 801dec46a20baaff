import * as assert from 'node:assert/strict';
import { NO_OBJECTS, objectOptions } from '../../webview-ui/chatObjects';

describe('the chat\'s Object list', () => {
  it('lists the image\'s objects, each chosen by its id', () => {
    assert.deepEqual(objectOptions([{ id: 4, label: 'object 4 — circle' }, { id: 7, label: 'object 7 — square' }]), [
      { label: 'object 4 — circle', value: '4', disabled: false },
      { label: 'object 7 — square', value: '7', disabled: false },
    ]);
  });

  it('with no objects, says where a region comes from instead of showing an empty list', () => {
    assert.deepEqual(objectOptions([]), [{ label: NO_OBJECTS, value: '', disabled: true }]);
    assert.match(NO_OBJECTS, /^No objects yet: mark a region in the editor, then Add to chat \(C\)$/);
  });
});
