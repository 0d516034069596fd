import test from 'ava';
import { closest, didYouMean } from '../harness/util/suggest.ts';

test('did-you-mean: near misses, swapped neighbours, case; nothing for a wild guess', (t) => {
  t.is(closest('filesytem', ['filesystem', 'dax', 'pmem']), 'filesystem');
  t.is(closest('xsf', ['ext4', 'xfs']), 'xfs', 'a swap of two neighbours is one edit');
  t.is(closest('Never', ['always', 'never']), 'never');
  t.is(closest('zzz', ['dax']), undefined);
  t.is(closest('ext9', ['ext4', 'xfs']), 'ext4');
  t.is(closest('btrfs', ['ext4', 'xfs']), undefined, 'two edits away from nothing close');
  t.is(didYouMean('truncate-latancy', ['truncate-latency', 'pin-duration']), " (did you mean 'truncate-latency'?)");
  t.is(didYouMean('dax', ['dax']), '', 'no suggestion for an exact name');
});
