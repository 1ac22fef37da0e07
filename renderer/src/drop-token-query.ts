/**
 * `clipscope serve` prints its address with `?token=…`; the server then keeps the token in a
 * cookie, so the page drops it from the address. It must: the hash router reads the page's own
 * query string as part of the route (`#/features?layer=22` would read `layer=22?token=…`), and
 * the token has no business in the address bar or the history. Imported before the router.
 */
if (typeof window !== 'undefined' && window.location.search !== '') {
  window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.hash}`);
}

export {};
