// h/evote: the chair's participation view, updated every 2 s without reloading (the page also works without this script).
(function () {
  var root = document.querySelector('[data-live-url]');
  if (!root) return;
  var url = root.getAttribute('data-live-url');
  function set(name, value) {
    var el = root.querySelector('[data-live="' + name + '"]');
    if (el && el.textContent !== String(value)) el.textContent = String(value);
  }
  function tick() {
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        set('voted', d.voted); set('present', d.present); set('room-voted', d.room.voted); set('online-voted', d.online.voted);
        set('updated', new Date().toLocaleTimeString(document.documentElement.lang === 'en' ? 'en-GB' : 'de-DE'));
        if (d.status !== 'open') { window.location.reload(); return; }
        setTimeout(tick, 2000);
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
