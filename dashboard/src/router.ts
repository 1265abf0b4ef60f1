/** Client routes are real paths (/map, /screens ...); the cloud answers every such path with index.html. */
const listeners = new Set<() => void>();

export function currentPath(): string {
  return location.pathname.replace(/\/+$/, '') || '/';
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const listener of listeners) listener();
}

export function onNavigate(listener: () => void): void {
  listeners.add(listener);
}

window.addEventListener('popstate', () => {
  for (const listener of listeners) listener();
});

// Links inside the app navigate without a page load.
document.addEventListener('click', (event) => {
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const href = anchor.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('/api/') || href.startsWith('/docs') || anchor.target) return;
  event.preventDefault();
  navigate(href);
});
