var svg = null, frames = [], details, unzoombtn, searchbtn, icbtn, matchedtxt;
var W, XPAD, FS, FW, INV, FULL, LANES, SPAN, ignorecase = false, searching = null, zoomed = null;
function $(id) { return document.getElementById(id); }
/* The details line: cut in the middle (both ends tell something) to
 * the width left beside the Matched text. */
function cut(chars, n) {
  var head = Math.ceil(n / 2), tail = n - head;
  return chars.slice(0, head).join('') + '\u2026' + (tail ? chars.slice(chars.length - tail).join('') : '');
}
function setdetails(s) {
  details.textContent = s;
  var avail = W - 2 * XPAD - (matchedtxt.classList.contains('hide') ? 0 : matchedtxt.getComputedTextLength() + 2 * FS);
  if (details.getComputedTextLength() <= avail) return;
  var chars = Array.from(s), lo = 0, hi = chars.length - 1;
  while (lo < hi) {
    var mid = (lo + hi + 1) >> 1;
    details.textContent = cut(chars, mid);
    if (details.getComputedTextLength() <= avail) lo = mid; else hi = mid - 1;
  }
  details.textContent = cut(chars, lo);
}
/* Lanes: the time axis over x from a to b (px of the unzoomed graph),
 * ticks on 1, 2 or 5 times a power of ten. */
function nicestep(raw) {
  var p = Math.pow(10, Math.floor(Math.log10(raw)));
  return raw <= p * 1.000001 ? p : raw <= 2 * p * 1.000001 ? 2 * p : raw <= 5 * p * 1.000001 ? 5 * p : 10 * p;
}
function drawaxis(a, b) {
  var ax = $('axis');
  if (!ax) return;
  var t0 = (a - XPAD) / FULL * SPAN, t1 = (b - XPAD) / FULL * SPAN;
  var step = nicestep((t1 - t0) / Math.max(1, Math.floor(FULL / 100)));
  var unit = t1 - t0 >= 1 ? 1 : t1 - t0 >= 1e-3 ? 1e-3 : 1e-6, name = unit === 1 ? ' s' : unit === 1e-3 ? ' ms' : ' \u00b5s';
  var dec = Math.max(0, Math.ceil(-Math.log10(step / unit) - 1e-9));
  var y = +ax.getAttribute('data-y'), y2 = +ax.getAttribute('data-y2'), ns = 'http://www.w3.org/2000/svg';
  while (ax.firstChild) ax.removeChild(ax.firstChild);
  for (var k = Math.ceil(t0 / step - 1e-9); k * step <= t1 + step * 1e-9; k++) {
    var x = XPAD + (k * step - t0) / (t1 - t0) * FULL;
    var l = document.createElementNS(ns, 'line');
    l.setAttribute('x1', x.toFixed(1)); l.setAttribute('x2', x.toFixed(1));
    l.setAttribute('y1', y + 4); l.setAttribute('y2', y2);
    ax.appendChild(l);
    var t = document.createElementNS(ns, 'text');
    t.setAttribute('x', x.toFixed(1)); t.setAttribute('y', y);
    t.setAttribute('text-anchor', x < XPAD + 20 ? 'start' : x > XPAD + FULL - 20 ? 'end' : 'middle');
    t.textContent = (k * step / unit).toFixed(dec) + name;
    ax.appendChild(t);
  }
}
function fit(name, w) {
  var n = Math.floor((w - 3) / (FS * FW));
  if (n < 3) return '';
  var chars = Array.from(name);
  if (chars.length <= n) return name;
  return chars.slice(0, n - 2).join('') + '..';
}
function setpos(f, x, w) {
  f.r.setAttribute('x', x.toFixed(3));
  f.r.setAttribute('width', w.toFixed(3));
  if (f.t) { f.t.setAttribute('x', (x + 3).toFixed(3)); f.t.textContent = fit(f.name, w); }
}
function updateurl() {
  try {
    var p = new URLSearchParams();
    if (zoomed) { p.set('x', zoomed.x.toFixed(3)); p.set('y', zoomed.y.toFixed(3)); }
    if (searching !== null) p.set('s', searching);
    if (ignorecase) p.set('ic', '1');
    var q = p.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);
  } catch (e) { /* file:// pages may refuse; the state still works */ }
}
function unzoom(keepurl) {
  zoomed = null;
  unzoombtn.classList.add('hide');
  for (var i = 0; i < frames.length; i++) {
    var f = frames[i];
    f.g.classList.remove('hide'); f.g.classList.remove('parent');
    setpos(f, f.x, f.w);
  }
  svg.setAttribute('data-zoom-width', '');
  if (LANES) drawaxis(XPAD, XPAD + FULL);
  if (!keepurl) updateurl();
}
function zoom(z) {
  unzoom(true);
  if (z === frames[0]) { updateurl(); return; }
  var xmin = z.x, xmax = z.x + z.w, scale = FULL / z.w, eps = 0.002;
  zoomed = z;
  unzoombtn.classList.remove('hide');
  if (LANES) {
    /* Lanes share the time axis: zoom into the time z spans, in every lane. */
    for (var i = 1; i < frames.length; i++) {
      var f = frames[i], a = Math.max(f.x, xmin), b = Math.min(f.x + f.w, xmax);
      if (b <= a + eps) { f.g.classList.add('hide'); continue; }
      if (a > f.x + eps || b < f.x + f.w - eps) f.g.classList.add('parent');
      setpos(f, XPAD + (a - xmin) * scale, (b - a) * scale);
    }
    setpos(frames[0], XPAD, FULL);
    drawaxis(xmin, xmax);
  } else
  for (var i = 0; i < frames.length; i++) {
    var f = frames[i], above = INV ? f.y < z.y : f.y > z.y;
    if (above) {
      if (f.x <= xmin + eps && f.x + f.w >= xmax - eps) { f.g.classList.add('parent'); setpos(f, XPAD, FULL); }
      else f.g.classList.add('hide');
    } else if (f.x >= xmin - eps && f.x + f.w <= xmax + eps) {
      setpos(f, XPAD + (f.x - xmin) * scale, f.w * scale);
    } else f.g.classList.add('hide');
  }
  svg.setAttribute('data-zoom-width', parseFloat(z.r.getAttribute('width')).toFixed(3));
  updateurl();
}
function resetsearch() {
  searching = null;
  for (var i = 0; i < frames.length; i++) {
    frames[i].r.setAttribute('fill', frames[i].fill);
    if (frames[i].t) frames[i].t.classList.remove('hit');
  }
  matchedtxt.classList.add('hide');
  matchedtxt.classList.remove('error');
  searchbtn.textContent = 'Search';
  svg.setAttribute('data-matched', '');
  updateurl();
}
function search(term) {
  var re;
  try { re = new RegExp(term, ignorecase ? 'i' : ''); }
  catch (e) {
    /* Said where the result would be, and kept until the next search. */
    svg.setAttribute('data-error', 'bad regex: ' + e.message);
    matchedtxt.textContent = 'Not a regular expression: ' + e.message.replace(/^Invalid regular expression: /, '');
    matchedtxt.classList.add('error');
    matchedtxt.classList.remove('hide');
    return;
  }
  svg.setAttribute('data-error', '');
  matchedtxt.classList.remove('error');
  searching = term;
  var hits = [];
  for (var i = 1; i < frames.length; i++) {
    var f = frames[i];
    var hit = re.test(f.name);
    f.r.setAttribute('fill', hit ? 'rgb(230,0,230)' : f.fill);
    if (f.t) f.t.classList.toggle('hit', hit);
    if (hit) hits.push(f);
  }
  /* Count each matched stretch once: outermost frames, by x. */
  hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });
  var sum = 0, end = -1e300;
  for (var j = 0; j < hits.length; j++)
    if (hits[j].x >= end - 0.002) { sum += hits[j].w; end = hits[j].x + hits[j].w; }
  var pct = (100 * sum / frames[0].w).toFixed(2);
  matchedtxt.textContent = 'Matched: ' + pct + '%';
  matchedtxt.classList.remove('hide');
  searchbtn.textContent = 'Reset Search';
  svg.setAttribute('data-matched', pct);
  updateurl();
}
function asksearch() {
  var term = prompt('Search for (regular expression):', searching === null ? '' : searching);
  if (term !== null && term !== '') search(term);
}
function togglecase() {
  ignorecase = !ignorecase;
  icbtn.classList.toggle('on', ignorecase);
  icbtn.firstChild.textContent = 'case-insensitive search (Ctrl-I): ' + (ignorecase ? 'on' : 'off');
  if (searching !== null) search(searching); else updateurl();
}
function byname(name) {
  var best = null;
  for (var i = 0; i < frames.length; i++)
    if (frames[i].name === name && (!best || frames[i].w > best.w)) best = frames[i];
  return best;
}
function at(x, y) {
  for (var i = 0; i < frames.length; i++)
    if (Math.abs(frames[i].x - x) < 0.01 && Math.abs(frames[i].y - y) < 0.01) return frames[i];
  return null;
}
function init() {
  if (svg) return;
  svg = $('flamegraph');
  try {
    W = +svg.getAttribute('data-width'); XPAD = +svg.getAttribute('data-xpad');
    FS = +svg.getAttribute('data-fontsize'); FW = +svg.getAttribute('data-fontwidth');
    INV = svg.getAttribute('data-inverted') === '1'; FULL = W - 2 * XPAD;
    LANES = svg.hasAttribute('data-span'); SPAN = +svg.getAttribute('data-span');
    details = $('details'); unzoombtn = $('unzoom'); searchbtn = $('search');
    icbtn = $('ignorecase'); matchedtxt = $('matched');
    var gs = $('frames').childNodes;
    for (var i = 0; i < gs.length; i++) {
      var g = gs[i];
      if (g.nodeType !== 1) continue;
      var r = g.getElementsByTagName('rect')[0], t = g.getElementsByTagName('text')[0];
      var title = g.getElementsByTagName('title')[0].textContent;
      var f = { g: g, r: r, t: t, title: title, name: title.substring(0, title.lastIndexOf(' (')),
                x: parseFloat(r.getAttribute('x')), w: parseFloat(r.getAttribute('width')),
                y: parseFloat(r.getAttribute('y')), fill: r.getAttribute('fill') };
      frames.push(f);
      (function (f) {
        g.addEventListener('click', function () { zoom(f); });
        g.addEventListener('mouseover', function () { setdetails('Function: ' + f.title); });
        g.addEventListener('mouseout', function () { details.textContent = ' '; });
      })(f);
    }
    unzoombtn.addEventListener('click', function () { unzoom(false); });
    searchbtn.addEventListener('click', function () { if (searching !== null) resetsearch(); else asksearch(); });
    icbtn.addEventListener('click', togglecase);
    window.addEventListener('keydown', function (e) {
      if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F' || e.keyCode === 114)) { e.preventDefault(); asksearch(); }
      else if ((e.ctrlKey || e.metaKey) && (e.key === 'i' || e.key === 'I')) { e.preventDefault(); togglecase(); }
    });
    var p = new URLSearchParams(location.search);
    if (p.get('ic') === '1') togglecase();
    /* The legend was spaced by an estimate of the font: lay it out. */
    var lg = $('legend'), lx = XPAD;
    if (lg) for (var c = lg.firstElementChild; c; c = c.nextElementSibling) {
      c.setAttribute('x', lx);
      lx += c.tagName === 'rect' ? 16 : c.getComputedTextLength() + 14;
    }
    var z = null;
    if (p.has('x') && p.has('y')) z = at(parseFloat(p.get('x')), parseFloat(p.get('y')));
    else if (p.has('f')) z = byname(p.get('f'));
    if ((p.has('x') || p.has('f')) && !z) svg.setAttribute('data-error', 'no such frame to zoom to');
    if (z) zoom(z);
    if (p.has('s')) search(p.get('s'));
    svg.setAttribute('data-ready', '1');
  } catch (e) {
    svg.setAttribute('data-error', String(e));
  }
}
window.addEventListener('load', init);
