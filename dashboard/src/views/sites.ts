/** Sites and grid cells (网格): lists for everyone, create, edit and delete for technicians and admins. */
import { api, can, currentSession } from '../api.js';
import { h, fill, formatTime } from '../dom.js';
import { t } from '../i18n.js';
import { FLEET_ID_PATTERN, gridCellBody, siteBody, type Built } from '../logic/fleet.js';
import type { GridCell, Site } from '../types.js';
import type { View } from '../view.js';

export const sitesView: View = (root) => {
  const mayEdit = can('provision');
  const cellsBox = h('div', { class: 'table-wrap' }, t('common.loading'));
  const sitesBox = h('div', { class: 'table-wrap' }, t('common.loading'));
  const message = h('p', { 'data-testid': 'sites-message', role: 'status' });
  const say = (text: string, isError = false) => {
    message.textContent = text;
    message.className = isError ? 'error' : 'small';
  };
  let cells: GridCell[] = [];

  const cellForm = {
    id: h('input', { name: 'cell-id', required: true, size: 14 }),
    name: h('input', { name: 'cell-name', required: true, size: 18 }),
    bbox: h('input', { name: 'cell-bbox', size: 34, placeholder: 'minLon, minLat, maxLon, maxLat' }),
  };
  const siteForm = {
    id: h('input', { name: 'site-id', required: true, size: 14 }),
    name: h('input', { name: 'site-name', required: true, size: 18 }),
    lat: h('input', { name: 'site-lat', size: 9, inputmode: 'decimal' }),
    lon: h('input', { name: 'site-lon', size: 9, inputmode: 'decimal' }),
    gridCell: h('select', { name: 'site-grid-cell' }),
    address: h('input', { name: 'site-address', size: 22 }),
  };

  const put = async <B>(kind: 'sites' | 'grid-cells', id: string, built: Built<B>, what: string) => {
    if (!FLEET_ID_PATTERN.test(id.trim())) return say(t('sites.badId'), true);
    if (!built.ok) return say(`${t(`sites.field.${built.field}`)}: ${built.error}`, true);
    try {
      await api(`/api/v1/${kind}/${encodeURIComponent(id.trim())}`, { method: 'PUT', json: built.body });
      say(t('sites.saved', { what, id: id.trim() }));
      await load();
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };
  const remove = async (kind: 'sites' | 'grid-cells', id: string) => {
    try {
      await api(`/api/v1/${kind}/${encodeURIComponent(id)}`, { method: 'DELETE' });
      say(t('sites.deleted', { id }));
      await load();
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };

  const editCell = (cell: GridCell) => {
    cellForm.id.value = cell.id;
    cellForm.name.value = cell.name;
    cellForm.bbox.value = cell.bbox ? cell.bbox.join(', ') : '';
    cellForm.name.focus();
  };
  const editSite = (site: Site) => {
    siteForm.id.value = site.id;
    siteForm.name.value = site.name;
    siteForm.lat.value = site.location ? String(site.location.lat) : '';
    siteForm.lon.value = site.location ? String(site.location.lon) : '';
    siteForm.gridCell.value = site.gridCellId ?? '';
    siteForm.address.value = site.address ?? '';
    siteForm.name.focus();
  };

  const load = async () => {
    try {
      const [{ gridCells }, { sites }] = await Promise.all([api<{ gridCells: GridCell[] }>('/api/v1/grid-cells'), api<{ sites: Site[] }>('/api/v1/sites')]);
      cells = gridCells;
      const chosen = siteForm.gridCell.value;
      fill(siteForm.gridCell, h('option', { value: '' }, t('common.none')), cells.map((c) => h('option', { value: c.id }, `${c.name} (${c.id})`)));
      siteForm.gridCell.value = chosen;
      fill(cellsBox, h('table', { 'data-testid': 'grid-cells' },
        h('thead', null, h('tr', null, h('th', null, 'ID'), h('th', null, t('common.name')), h('th', null, t('sites.bbox')), h('th', null, t('device.updated')), mayEdit ? h('th', null, '') : null)),
        h('tbody', null, cells.map((c) => h('tr', { 'data-grid-cell': c.id },
          h('td', null, c.id), h('td', null, c.name),
          h('td', { class: 'small' }, c.bbox ? c.bbox.join(', ') : c.polygon ? t('sites.polygon', { n: c.polygon.length }) : '—'),
          h('td', { class: 'nowrap' }, formatTime(c.updatedAt)),
          mayEdit ? h('td', { class: 'nowrap' }, h('button', { class: 'small', type: 'button', onClick: () => editCell(c) }, t('common.edit')), h('button', { class: 'small danger', type: 'button', onClick: () => remove('grid-cells', c.id) }, t('common.delete'))) : null,
        ))),
      ));
      fill(sitesBox, h('table', { 'data-testid': 'sites' },
        h('thead', null, h('tr', null, h('th', null, 'ID'), h('th', null, t('common.name')), h('th', null, t('sites.location')), h('th', null, t('gateways.gridCell')), h('th', null, t('sites.address')), mayEdit ? h('th', null, '') : null)),
        h('tbody', null, sites.map((s) => h('tr', { 'data-site': s.id },
          h('td', null, h('a', { href: `/gateways?site=${encodeURIComponent(s.id)}` }, s.id)), h('td', null, s.name),
          h('td', { class: 'nowrap' }, s.location ? `${s.location.lat.toFixed(5)}, ${s.location.lon.toFixed(5)}` : '—'),
          h('td', null, s.gridCellId ?? '—'), h('td', null, s.address ?? '—'),
          mayEdit ? h('td', { class: 'nowrap' }, h('button', { class: 'small', type: 'button', onClick: () => editSite(s) }, t('common.edit')), h('button', { class: 'small danger', type: 'button', onClick: () => remove('sites', s.id) }, t('common.delete'))) : null,
        ))),
      ));
    } catch (err) {
      say(t('common.error', { message: (err as Error).message }), true);
    }
  };

  const cellEditor = h('form', {
    class: 'card filters', 'data-testid': 'grid-cell-form',
    onSubmit: (e: Event) => { e.preventDefault(); void put('grid-cells', cellForm.id.value, gridCellBody({ name: cellForm.name.value, bbox: cellForm.bbox.value }), t('gateways.gridCell')); },
  },
  h('label', null, 'ID', cellForm.id), h('label', null, t('common.name'), cellForm.name), h('label', null, t('sites.bbox'), cellForm.bbox),
  h('button', { type: 'submit', class: 'primary' }, t('common.save')));
  const siteEditor = h('form', {
    class: 'card filters', 'data-testid': 'site-form',
    onSubmit: (e: Event) => {
      e.preventDefault();
      void put('sites', siteForm.id.value, siteBody({ name: siteForm.name.value, lat: siteForm.lat.value, lon: siteForm.lon.value, gridCell: siteForm.gridCell.value, address: siteForm.address.value }), t('gateways.site'));
    },
  },
  h('label', null, 'ID', siteForm.id), h('label', null, t('common.name'), siteForm.name), h('label', null, t('sites.lat'), siteForm.lat), h('label', null, t('sites.lon'), siteForm.lon),
  h('label', null, t('gateways.gridCell'), siteForm.gridCell), h('label', null, t('sites.address'), siteForm.address),
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'site-save' }, t('common.save')));

  fill(root,
    h('h1', null, t('sites.title')),
    mayEdit ? null : h('p', { class: 'small', 'data-testid': 'read-only' }, t('common.readOnly', { role: t(`role.${currentRole()}`) })),
    message,
    h('h2', null, t('sites.sites')), mayEdit ? siteEditor : null, sitesBox,
    h('h2', null, t('sites.gridCells')), mayEdit ? cellEditor : null, cellsBox,
  );
  void load();
};

function currentRole(): 'admin' | 'controller' | 'technician' | 'viewer' {
  return currentSession()?.user.role ?? 'viewer';
}
