/**
 * Guidance screens: what each screen shows (live), composing a message in MULTI or as a form with a
 * preview of every page per sign profile (the cloud's renderer, the same one the signs use),
 * choosing targets by screen, group or road segment, dispatching, and following each screen's
 * dispatch over the WebSocket. Writes are offered only to roles that may make them.
 */
import { api, ApiProblem, can, currentSession, live, loadImage } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t, tMaybe } from '../i18n.js';
import type { Dispatch, Message, PreviewResult, Screen, Segment, Targets } from '../types.js';
import { every, type View } from '../view.js';
import { loadMapData, mapSvg, type MapData } from './map.js';
import { formOf } from '../logic/compose.js';

const DEFAULT_MULTI = '[jl3]前方拥堵[nl]请绕行';

interface GuidanceRule {
  id: string;
  segment: string;
  whenGradeAtLeast: string;
  multi?: string;
  approval?: boolean;
  state: Record<string, unknown> | null;
}

interface Proposal {
  id: string;
  ruleId: string;
  segment: string;
  grade: string;
  status: string;
  createdAt: number;
}

function conditionText(sc: Screen): string {
  const c = sc.condition;
  if (!c) return '—';
  const faults = [c.doorOpen && t('screens.doorOpen'), c.powerFault && t('screens.powerFault'), c.pixelFailures > 0 && t('screens.pixels', { n: c.pixelFailures })].filter(Boolean);
  return faults.length === 0 ? t('screens.ok') : faults.join(', ');
}

export const screensView: View = (root) => {
  let screens: Screen[] = [];
  let segments: Segment[] = [];
  const latestDispatch = new Map<string, Dispatch>();
  let followed: string | null = null;
  /** The followed message's dispatches by id, kept current from the WebSocket. */
  const followedRows = new Map<string, Dispatch>();
  /** Object URLs of the displayed messages' page images, so a redraw does not fetch them again. */
  const imageCache = new Map<string, string>();
  const mayWrite = can('guidance');

  // Compose form.
  let mode: 'multi' | 'form' = 'multi';
  const multi = h('textarea', { name: 'multi', rows: 3, value: DEFAULT_MULTI, spellcheck: false });
  const formText = h('textarea', { name: 'form', rows: 4, value: '前方拥堵\n请绕行' });
  const modeMulti = h('input', { type: 'radio', name: 'mode', value: 'multi', checked: true });
  const modeForm = h('input', { type: 'radio', name: 'mode', value: 'form' });
  const multiBox = h('label', { class: 'block' }, t('screens.multi'), multi);
  const formBox = h('label', { class: 'block', hidden: true }, t('screens.formHelp'), formText);
  const targetBox = h('div', { class: 'targets', 'data-testid': 'targets' });
  const all = h('input', { type: 'checkbox', name: 'all' });
  const priority = h('input', { name: 'priority', type: 'number', min: 1, max: 255, value: 100, style: 'width:5em' });
  const duration = h('input', { name: 'duration', type: 'number', min: 1, max: 10080, placeholder: '∞', style: 'width:6em' });
  const note = h('input', { name: 'note', maxlength: 2000, style: 'width:14em' });
  const preview = h('div', { class: 'preview', 'data-testid': 'preview' });
  const result = h('p', { 'data-testid': 'dispatch-result', role: 'status' });
  const dispatchButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'dispatch', disabled: !mayWrite }, t('screens.dispatch'));
  const statusTable = h('div', { class: 'table-wrap', 'data-testid': 'dispatch-status' });
  const screenTable = h('div', { class: 'table-wrap', 'data-testid': 'screens' }, t('common.loading'));
  const messages = h('div', { class: 'table-wrap', 'data-testid': 'messages' });
  const pickMap = h('div', { class: 'pick-map', 'data-testid': 'target-map' });
  const guidance = h('div', { class: 'table-wrap', 'data-testid': 'guidance' });
  let mapData: MapData | null = null;

  const content = (): { multi: string } | { form: ReturnType<typeof formOf> } => (mode === 'multi' ? { multi: multi.value } : { form: formOf(formText.value) });

  const checked = (name: string) => [...targetBox.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((i) => i.value);
  const targets = (): Targets => {
    const out: Targets = {};
    if (all.checked) out.all = true;
    const sc = checked('screen');
    const gr = checked('group');
    const sg = checked('segment');
    if (sc.length) out.screens = sc;
    if (gr.length) out.groups = gr;
    if (sg.length) out.segments = sg;
    return out;
  };
  /** The screens the targets reach, to preview per profile (the cloud resolves them the same way). */
  const reached = (tg: Targets): Screen[] =>
    screens.filter((sc) => tg.all || tg.screens?.includes(sc.key) || sc.groups.some((g) => tg.groups?.includes(g)) || (sc.segment !== null && tg.segments?.includes(sc.segment)));

  let previewSeq = 0;
  const refreshPreview = async () => {
    const seq = ++previewSeq;
    const tg = targets();
    let chosen = reached(tg);
    if (chosen.length === 0) chosen = screens;
    const byProfile = new Map<string, Screen>();
    for (const sc of chosen) if (sc.profile && !byProfile.has(sc.profile)) byProfile.set(sc.profile, sc);
    const results = await Promise.all([...byProfile.values()].map(async (sc) => {
      try {
        return await api<PreviewResult>('/api/v1/preview', { method: 'POST', json: { ...content(), screen: sc.key, scale: 3 } });
      } catch (err) {
        return { profile: sc.profile ?? sc.key, multi: null, crc: null, problems: [{ page: 0, code: 'error', message: (err as Error).message }], pages: [] } satisfies PreviewResult;
      }
    }));
    if (seq !== previewSeq) return;
    fill(preview, results.map((r) => h('div', { class: 'preview-profile', 'data-profile': r.profile },
      h('div', { class: 'small' }, `${r.profile}${r.crc !== null ? ` · CRC ${r.crc}` : ''}`),
      r.pages.map((png, i) => h('figure', null, h('img', { src: `data:image/png;base64,${png}`, alt: t('screens.previewFor', { profile: r.profile, page: i + 1 }), 'data-page': i + 1 }), h('figcaption', null, t('screens.previewFor', { profile: r.profile, page: i + 1 })))),
      r.problems.length > 0 ? h('ul', { class: 'problems error' }, h('li', null, h('strong', null, t('screens.problems'))), r.problems.map((p) => h('li', null, p.message))) : null,
    )));
  };
  let previewTimer: ReturnType<typeof setTimeout> | undefined;
  const schedulePreview = () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => void refreshPreview(), 250);
  };
  for (const input of [multi, formText]) input.addEventListener('input', schedulePreview);
  all.addEventListener('change', schedulePreview);
  targetBox.addEventListener('change', () => {
    schedulePreview();
    drawPickMap();
  });
  /** The map with the screens to click as targets; a click toggles the screen's checkbox. */
  const drawPickMap = () => {
    if (!mapData) return;
    const toggle = (key: string) => {
      const box = [...targetBox.querySelectorAll<HTMLInputElement>('input[name="screen"]')].find((i) => i.value === key);
      if (!box || box.disabled) return;
      box.checked = !box.checked;
      box.dispatchEvent(new Event('change', { bubbles: true }));
    };
    fill(pickMap, mapSvg(mapData, { selected: new Set(checked('screen')), toggle }).svg);
  };
  for (const radio of [modeMulti, modeForm]) {
    radio.addEventListener('change', () => {
      mode = modeForm.checked ? 'form' : 'multi';
      multiBox.hidden = mode !== 'multi';
      formBox.hidden = mode !== 'form';
      schedulePreview();
    });
  }

  const drawStatus = async () => {
    if (!followed) return fill(statusTable, h('p', { class: 'muted' }, t('common.none')));
    const { dispatches } = await api<{ dispatches: Dispatch[] }>(`/api/v1/dispatches?message=${encodeURIComponent(followed)}&limit=1000`);
    followedRows.clear();
    for (const d of dispatches) followedRows.set(d.id, d);
    drawStatusRows(dispatches);
  };
  const drawStatusRows = (dispatches: Dispatch[]) => {
    fill(statusTable, h('table', null,
      h('thead', null, h('tr', null, h('th', null, t('nav.screens')), h('th', null, t('common.state')), h('th', null, 'CRC'), h('th', null, t('device.updated')))),
      h('tbody', null, dispatches.map((d) => h('tr', { 'data-screen': `${d.gatewayId}/${d.deviceId}`, 'data-state': d.state },
        h('td', null, `${d.gatewayId}/${d.deviceId}`),
        h('td', null, h('span', { class: `pill state-${d.state}` }, d.state), d.reason ? h('div', { class: 'small' }, d.reason) : null),
        h('td', null, d.readbackCrc ?? '—'),
        h('td', { class: 'nowrap' }, formatTime(d.updatedAt)),
      ))),
    ));
  };
  const compose = h('form', {
    class: 'card compose',
    onSubmit: async (event: Event) => {
      event.preventDefault();
      if (!mayWrite) return;
      const tg = targets();
      if (Object.keys(tg).length === 0) {
        result.className = 'error';
        result.textContent = t('screens.noTargets');
        return;
      }
      dispatchButton.disabled = true;
      try {
        const body: Record<string, unknown> = { ...content(), targets: tg, priority: Number(priority.value || 100) };
        if (duration.value) body.endAt = Date.now() + Number(duration.value) * 60_000;
        if (note.value.trim()) body.note = note.value.trim();
        const created = await api<{ message: Message; dispatches: Dispatch[] }>('/api/v1/messages', { method: 'POST', json: body });
        followed = created.message.id;
        followedRows.clear();
        for (const d of created.dispatches) followedRows.set(d.id, d);
        result.className = 'ok';
        result.dataset.message = created.message.id;
        result.dataset.crc = String(created.message.crc);
        result.textContent = t('screens.dispatched', { id: created.message.id, crc: created.message.crc });
        drawStatusRows(created.dispatches);
        void loadMessages();
      } catch (err) {
        result.className = 'error';
        result.textContent = err instanceof ApiProblem && err.problems.length > 0 ? `${err.message}: ${err.problems.map((p) => p.message).join('; ')}` : t('common.error', { message: (err as Error).message });
      } finally {
        dispatchButton.disabled = !mayWrite;
      }
    },
  },
    h('h2', null, t('screens.compose')),
    mayWrite ? null : h('p', { class: 'muted', 'data-testid': 'read-only' }, t('common.readOnly', { role: tMaybe(`role.${currentSession()?.user.role}`, '') })),
    h('div', { class: 'row' }, t('screens.mode'), ': ', h('label', null, modeMulti, t('screens.modeMulti')), h('label', null, modeForm, t('screens.modeForm'))),
    multiBox,
    formBox,
    h('h3', null, t('screens.targets')),
    h('label', null, all, t('screens.targetAll')),
    targetBox,
    h('details', { open: true }, h('summary', null, t('screens.pickOnMap')), pickMap),
    h('div', { class: 'row' }, h('label', null, t('screens.priority'), priority), h('label', null, t('screens.duration'), duration)),
    h('div', { class: 'row' }, h('label', null, t('screens.note'), note)),
    h('h3', null, t('screens.preview')),
    preview,
    dispatchButton,
    result,
  );
  if (!mayWrite) {
    for (const el of compose.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea')) el.readOnly = true;
    all.disabled = true;
  }

  fill(root,
    h('h1', null, t('screens.title')),
    h('div', { class: 'screens-layout' },
      compose,
      h('div', null,
        h('section', { class: 'card' }, h('h2', null, t('screens.list')), screenTable),
        h('section', { class: 'card' }, h('h2', null, t('screens.status')), statusTable),
        h('section', { class: 'card' }, h('h2', null, t('screens.messages')), messages),
        h('section', { class: 'card' }, h('h2', null, t('screens.guidance')), guidance),
      ),
    ),
  );

  const drawTargets = () => {
    const selected = new Set([...targetBox.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => `${i.name}:${i.value}`));
    const box = (name: string, value: string, label: string) => h('label', null, h('input', { type: 'checkbox', name, value, checked: selected.has(`${name}:${value}`), disabled: !mayWrite }), label);
    const groups = [...new Set(screens.flatMap((sc) => sc.groups))].sort();
    fill(targetBox,
      h('div', null, h('strong', null, t('screens.targetScreens')), ' ', screens.map((sc) => box('screen', sc.key, sc.name ?? sc.key))),
      h('div', null, h('strong', null, t('screens.targetGroups')), ' ', groups.length ? groups.map((g) => box('group', g, g)) : t('common.none')),
      h('div', null, h('strong', null, t('screens.targetSegments')), ' ', segments.length ? segments.map((sg) => box('segment', sg.id, sg.name ?? sg.id)) : t('common.none')),
    );
  };

  const drawScreens = () => {
    fill(screenTable, h('table', null,
      h('thead', null, h('tr', null, ['nav.screens', 'common.state', 'screens.condition', 'screens.groups', 'screens.segment', 'screens.displayed'].map((k) => h('th', null, t(k as 'common.state'))), h('th', null, t('screens.status')))),
      h('tbody', null, screens.map((sc) => {
        const d = latestDispatch.get(sc.key);
        const img = h('img', { class: 'shown', alt: sc.displayed?.multi ?? '' });
        if (sc.displayed) {
          const src = `/api/v1/messages/${encodeURIComponent(sc.displayed.id)}/pages/1.png?screen=${encodeURIComponent(sc.key)}&scale=2`;
          loadImage(img, src, imageCache);
        }
        return h('tr', { 'data-screen': sc.key, 'data-crc': sc.displayed?.crc ?? '' },
          h('td', null, h('a', { href: `/gateways/${encodeURIComponent(sc.gatewayId)}/devices/${encodeURIComponent(sc.deviceId)}` }, sc.name ?? sc.key), h('div', { class: 'small' }, sc.profile ?? '')),
          h('td', null, h('span', { class: `pill ${sc.state === 'ok' ? 'ok' : 'bad'}` }, sc.state)),
          h('td', { class: 'small nowrap' }, conditionText(sc)),
          h('td', { class: 'small' }, sc.groups.join(', ') || '—'),
          h('td', { class: 'small' }, sc.segment ?? '—'),
          h('td', null, sc.displayed ? [img, h('div', { class: 'small', 'data-testid': 'shown-text' }, `${sc.displayed.multi} · CRC ${sc.displayed.crc}`)] : '—'),
          h('td', null, d ? h('span', { class: `pill state-${d.state}` }, d.state) : '—'),
        );
      })),
    ));
  };

  const loadMessages = async () => {
    const { messages: list } = await api<{ messages: Message[] }>('/api/v1/messages?active=true&limit=50');
    fill(messages, list.length === 0 ? h('p', { class: 'muted' }, t('common.none')) : h('table', null,
      h('thead', null, h('tr', null, h('th', null, 'MULTI'), h('th', null, t('screens.priorityShort')), h('th', null, t('screens.source')), h('th', null, t('screens.createdBy')), h('th', null, t('common.time')), h('th', null, ''))),
      h('tbody', null, list.map((m) => h('tr', { 'data-message': m.id },
        h('td', null, m.multi, h('div', { class: 'small' }, `CRC ${m.crc}${m.note ? ` · ${m.note}` : ''}`)),
        h('td', null, m.priority),
        h('td', null, m.source),
        h('td', null, m.createdBy),
        h('td', { class: 'nowrap small' }, formatTime(m.createdAt), m.endAt ? h('div', null, `→ ${formatTime(m.endAt)}`) : null),
        h('td', { class: 'nowrap' },
          h('button', { class: 'small', onClick: () => { followed = m.id; void drawStatus(); } }, t('screens.status')),
          mayWrite ? h('button', { class: 'small', onClick: async () => { await api(`/api/v1/messages/${encodeURIComponent(m.id)}/resend`, { method: 'POST', json: {} }).catch((e: Error) => alert(e.message)); } }, t('screens.resend')) : null,
          mayWrite ? h('button', { class: 'small danger', onClick: async () => { await api(`/api/v1/messages/${encodeURIComponent(m.id)}/cancel`, { method: 'POST', json: {} }).catch((e: Error) => alert(e.message)); void loadMessages(); } }, t('screens.cancel')) : null,
        ),
      ))),
    ));
  };

  /** Automatic guidance: the rules with their state, and proposals waiting for a controller. */
  const loadGuidance = async () => {
    const [{ rules }, { proposals }] = await Promise.all([
      api<{ rules: GuidanceRule[] }>('/api/v1/guidance-rules'),
      api<{ proposals: Proposal[] }>('/api/v1/guidance-proposals?status=pending'),
    ]);
    const decide = (id: string, how: 'approve' | 'reject') => async () => {
      await api(`/api/v1/guidance-proposals/${encodeURIComponent(id)}/${how}`, { method: 'POST', json: {} }).catch((e: Error) => alert(e.message));
      void loadGuidance();
    };
    fill(guidance,
      rules.length === 0 ? h('p', { class: 'muted' }, t('common.none')) : h('table', null,
        h('thead', null, h('tr', null, h('th', null, 'ID'), h('th', null, t('screens.segment')), h('th', null, t('screens.whenGrade')), h('th', null, 'MULTI'), h('th', null, t('common.state')))),
        h('tbody', null, rules.map((r) => h('tr', { 'data-rule': r.id },
          h('td', null, r.id, r.approval ? h('div', { class: 'small' }, t('screens.needsApproval')) : null),
          h('td', null, r.segment),
          h('td', null, r.whenGradeAtLeast),
          h('td', { class: 'small' }, r.multi ?? '—'),
          h('td', { class: 'small json' }, r.state ? JSON.stringify(r.state).slice(0, 120) : '—'),
        ))),
      ),
      proposals.length === 0 ? null : h('table', { 'data-testid': 'proposals' },
        h('thead', null, h('tr', null, h('th', null, t('screens.proposal')), h('th', null, t('screens.segment')), h('th', null, t('common.time')), h('th', null, ''))),
        h('tbody', null, proposals.map((p) => h('tr', { 'data-proposal': p.id },
          h('td', null, p.ruleId),
          h('td', null, `${p.segment} · ${p.grade}`),
          h('td', { class: 'nowrap small' }, formatTime(p.createdAt)),
          h('td', { class: 'nowrap' }, mayWrite ? [h('button', { class: 'small', onClick: decide(p.id, 'approve') }, t('screens.approve')), h('button', { class: 'small danger', onClick: decide(p.id, 'reject') }, t('screens.reject'))] : '—'),
        ))),
      ),
    );
  };

  const load = async () => {
    try {
      const [data, recent] = await Promise.all([loadMapData(), api<{ dispatches: Dispatch[] }>('/api/v1/dispatches?limit=200')]);
      const first = screens.length === 0;
      mapData = data;
      screens = data.screens;
      segments = data.segments;
      for (const d of [...recent.dispatches].reverse()) {
        const key = `${d.gatewayId}/${d.deviceId}`;
        const known = latestDispatch.get(key);
        if (!known || known.updatedAt <= d.updatedAt) latestDispatch.set(key, d);
      }
      drawScreens();
      if (first || targetBox.childElementCount === 0) {
        drawTargets();
        void refreshPreview();
      }
      drawPickMap();
      await Promise.all([loadMessages(), loadGuidance()]);
    } catch (err) {
      fill(screenTable, h('p', { class: 'error' }, t('common.error', { message: (err as Error).message })));
    }
  };

  fill(statusTable, h('p', { class: 'muted' }, t('common.none')));
  const stopPolling = every(10_000, load);
  let reload: ReturnType<typeof setTimeout> | undefined;
  const stopLive = live.subscribe((event) => {
    if (event.type === 'dispatch') {
      const d = event.dispatch as Dispatch;
      latestDispatch.set(`${d.gatewayId}/${d.deviceId}`, d);
      if (d.messageId === followed) {
        followedRows.set(d.id, d);
        drawStatusRows([...followedRows.values()].sort((a, b) => `${a.gatewayId}/${a.deviceId}`.localeCompare(`${b.gatewayId}/${b.deviceId}`)));
      }
    }
    if (event.type === 'dispatch' || event.type === 'screen' || event.type === 'message' || event.type === 'proposal') {
      clearTimeout(reload);
      reload = setTimeout(() => void load(), 400);
    }
  });
  return () => {
    stopPolling();
    stopLive();
    clearTimeout(reload);
    clearTimeout(previewTimer);
    for (const url of imageCache.values()) URL.revokeObjectURL(url);
  };
};
