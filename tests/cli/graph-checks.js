// graph-checks.js - measurements t-graphs.sh takes inside a page, with the
// browser's own layout (browser.js "script" step). Each returns a string
// that is empty when all is well, else what is wrong.
(function () {
	function rgb(s) {
		const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
		return m ? [+m[1], +m[2], +m[3]] : null;
	}
	function lum(c) {
		const l = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
	}
	function contrast(a, b) {
		const x = lum(a), y = lum(b);
		return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
	}
	window.graphChecks = {
		contrast: contrast,
		rgb: rgb,
		// Every frame's label colour against its fill: WCAG AA (4.5).
		labels: function () {
			const bad = [];
			for (const g of document.querySelectorAll('#frames > g')) {
				const t = g.querySelector('text'), r = g.querySelector('rect');
				if (!t) /* narrow frames have empty labels: their colour counts too */
					continue;
				const c = contrast(rgb(getComputedStyle(t).fill), rgb(r.getAttribute('fill')));
				if (c < 4.5)
					bad.push(g.querySelector('title').textContent + ' ' + c.toFixed(2) + ':1 on ' + r.getAttribute('fill'));
			}
			return bad.slice(0, 5).join('; ');
		},
		// A text element inside the image, measured.
		inside: function (el) {
			const b = el.getBBox(), W = +document.documentElement.getAttribute('width');
			return b.x >= 0 && b.x + b.width <= W ? '' : el.id + ' spans ' + b.x.toFixed(0) + '..' + (b.x + b.width).toFixed(0) + ' of ' + W;
		},
		// Legend entries left to right without overlap, inside the image.
		legend: function () {
			const lg = document.getElementById('legend');
			if (!lg)
				return 'no legend';
			let end = 0;
			for (const c of lg.children) {
				const b = c.getBBox();
				if (b.x < end - 0.5)
					return 'legend entry ' + (c.textContent || c.tagName) + ' overlaps the one before';
				end = b.x + b.width;
			}
			return end <= +document.documentElement.getAttribute('width') ? '' : 'legend runs to ' + end.toFixed(0);
		},
		// Tick labels "N unit" evenly spaced by 1, 2 or 5 times a power of ten.
		ticks: function (sel) {
			const v = Array.from(document.querySelectorAll(sel)).map((t) => parseFloat(t.textContent));
			if (v.length < 3)
				return 'only ' + v.length + ' ticks';
			const step = v[1] - v[0];
			let m = step;
			while (m >= 10) m /= 10;
			while (m < 1) m *= 10;
			if (![1, 2, 5].some((x) => Math.abs(m - x) < 1e-6))
				return 'step ' + step + ' is not 1, 2 or 5 times a power of ten';
			for (let i = 1; i < v.length; i++)
				if (Math.abs(v[i] - v[i - 1] - step) > step * 1e-6)
					return 'uneven ticks ' + v.join(' ');
			if (Math.abs(v[0] / step - Math.round(v[0] / step)) > 1e-6)
				return 'first tick ' + v[0] + ' is not a multiple of the step';
			return '';
		},
		frame: function (name) {
			for (const g of document.querySelectorAll('#frames > g'))
				if (g.querySelector('title').textContent.startsWith(name + ' ('))
					return g;
			return null;
		},
		// Centre of a frame's box in page pixels, "X Y".
		centre: function (name) {
			const b = this.frame(name).querySelector('rect').getBoundingClientRect();
			return (b.x + b.width / 2).toFixed(0) + '\t' + (b.y + b.height / 2).toFixed(0);
		},
	};
})();
