// zoom-archiver dashboard: live updates. The server says when its data changed
// (Server-Sent Events at /live); the page then fetches itself again and swaps the
// content in, unless the operator is typing or a Retry is being sent.
(function () {
  'use strict';
  var live = document.getElementById('live');
  var busy = false;
  function mark(state, text) {
    if (!live) return;
    live.setAttribute('data-state', state);
    live.textContent = text;
  }
  document.addEventListener('submit', function (event) {
    if (event.target && event.target.classList && event.target.classList.contains('retry')) busy = true;
  });
  function refresh(version) {
    var current = document.getElementById('content');
    if (!current || busy || current.getAttribute('data-version') === version) return;
    var active = document.activeElement;
    if (active && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA')) return;
    fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, 'text/html').getElementById('content');
        var now = document.getElementById('content');
        if (next && now && !busy) {
          // A notice belongs to the moment after Retry; a live update does not repeat it.
          var notice = next.querySelector('.notice[role="status"]');
          if (notice) notice.remove();
          now.replaceWith(next);
          document.dispatchEvent(new CustomEvent('dashboard:updated', { detail: { version: next.getAttribute('data-version') } }));
        }
      })
      .catch(function () {
        mark('waiting', 'live updates: retrying');
      });
  }
  if (!window.EventSource) return;
  var source = new EventSource('/live');
  source.addEventListener('open', function () {
    mark('on', 'live');
  });
  source.addEventListener('change', function (event) {
    mark('on', 'live');
    refresh(event.data);
  });
  source.addEventListener('error', function () {
    mark('waiting', 'live updates: reconnecting');
  });
})();
