#!/usr/bin/env python3
# Copies boot 1 of a real `daxlab run --out RUN -j 1` into test/data/boot-phases/NAME/: its console
# and agent logs, meta.json (the plan's steps as the events say them, modules loaded, guest clock)
# and expected.json (the phases the harness computed live from those logs' host arrival times).
#   python3 test/data/boot-phases/capture.py RUN NAME
import json, os, shutil, sys
run, name = sys.argv[1], sys.argv[2]
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
os.makedirs(dst, exist_ok=True)
ev = [json.loads(l) for l in open(os.path.join(run, 'events.jsonl'))]
steps = []
for e in ev:
    if e.get('boot') != 1: continue
    if e['type'] == 'setup-ended':
        steps.append({'n': e['n'], 'kind': 'cleanup' if e['label'].startswith('umount') else 'setup', 'label': e['label'], 'group': e['group']})
    if e['type'] == 'step-began':
        _, fs, dax, _ = e['key'].split('/')[-1].split(':')
        steps.append({'n': e['n'], 'kind': 'repro', 'label': e['key'], 'group': f'{fs}-dax={dax}'})
steps.sort(key=lambda s: s['n'])
mods = sum(len(e['kernel']['image']['modules']) for e in ev if e['type'] == 'kernel-ready')
started = next(e for e in ev if e['type'] == 'run-started')
ended = next(e for e in ev if e['type'] == 'boot-ended' and e['boot'] == 1)
meta = {'steps': steps, 'modules': mods, 'clock': started['guest'].get('clock', 'host'), 'kernel': next(e for e in ev if e['type'] == 'kernel-ready')['kernel']['release']}
json.dump(meta, open(os.path.join(dst, 'meta.json'), 'w'), indent=1)
json.dump(ended['phases'], open(os.path.join(dst, 'expected.json'), 'w'), indent=1)
for f in ('console-1.log', 'agent-1.log'): shutil.copy(os.path.join(run, f), os.path.join(dst, f))
