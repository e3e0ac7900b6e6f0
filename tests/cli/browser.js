// browser.js - drive headless Chromium through the DevTools protocol over a
// pipe (--remote-debugging-pipe: no port, no WebSocket, no packages), for
// the graph checks in t-graphs.sh.
//
// usage: node browser.js CHROMIUM < STEPS
// STEPS has one step per line, words separated by a tab:
//   open URL WIDTH HEIGHT   load URL in a WIDTHxHEIGHT window, wait for load
//   eval NAME EXPR          print "NAME=<value of EXPR>" (JSON for non-strings)
//   script FILE             run the JavaScript in FILE in the page
//   move X Y / click X Y    the mouse, in CSS pixels
//   key CTRL-LETTER         e.g. "key ctrl-f": a key press with Ctrl held
//   answer TEXT             the text typed into the next prompt()
//   shot FILE               a PNG screenshot of the page as it is now
// A failing step prints "error: ..." and exits 1.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cprof-chromium-'));
const chrome = spawn(process.argv[2], ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--no-first-run', '--hide-scrollbars', '--user-data-dir=' + profile, '--remote-debugging-pipe', 'about:blank'],
	{ stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
const toChrome = chrome.stdio[3], fromChrome = chrome.stdio[4];
let nextId = 1, session = null, answer = '', buffered = Buffer.alloc(0);
const pending = new Map(), waiters = [];

let exiting = false;
function finish(code, msg) {
	if (msg)
		console.log(msg);
	exiting = true;
	const done = () => {
		try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* left in TMPDIR */ }
		process.exit(code);
	};
	if (chrome.exitCode !== null || chrome.signalCode !== null)
		return done();
	chrome.on('exit', done);
	chrome.kill('SIGKILL');
}
const timer = setTimeout(() => finish(1, 'error: timed out after 90 s'), 90000);
chrome.on('exit', (code) => { if (!exiting) finish(1, 'error: chromium exited (' + code + ')'); });

fromChrome.on('data', (chunk) => {
	buffered = Buffer.concat([buffered, chunk]);
	let nul;
	while ((nul = buffered.indexOf(0)) >= 0) {
		const msg = JSON.parse(buffered.subarray(0, nul).toString());
		buffered = buffered.subarray(nul + 1);
		if (msg.id && pending.has(msg.id)) {
			const p = pending.get(msg.id);
			pending.delete(msg.id);
			if (msg.error) p.reject(new Error(msg.error.message)); else p.resolve(msg.result);
		} else if (msg.method === 'Page.javascriptDialogOpening') {
			send('Page.handleJavaScriptDialog', { accept: true, promptText: answer });
		} else if (msg.method) {
			for (let i = 0; i < waiters.length; i++)
				if (waiters[i].method === msg.method) { waiters.splice(i, 1)[0].resolve(msg.params); break; }
		}
	}
});

function send(method, params, top) {
	const id = nextId++;
	const msg = { id, method, params: params || {} };
	if (session && !top)
		msg.sessionId = session;
	toChrome.write(JSON.stringify(msg) + '\0');
	return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function event(method) { return new Promise((resolve) => waiters.push({ method, resolve })); }

async function evaluate(expr) {
	const r = await send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
	if (r.exceptionDetails)
		throw new Error(expr + ': ' + (r.exceptionDetails.exception ? r.exceptionDetails.exception.description
			: r.exceptionDetails.text));
	return r.result.value;
}

async function mouse(type, x, y) {
	await send('Input.dispatchMouseEvent', { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', clickCount: 1 });
}

async function run(steps) {
	const { targetId } = await send('Target.createTarget', { url: 'about:blank' }, true);
	session = (await send('Target.attachToTarget', { targetId, flatten: true }, true)).sessionId;
	await send('Page.enable');
	await send('Runtime.enable');
	for (const line of steps) {
		const [op, ...a] = line.split('\t');
		if (op === 'open') {
			await send('Emulation.setDeviceMetricsOverride', { width: +a[1], height: +a[2], deviceScaleFactor: 1, mobile: false });
			const loaded = event('Page.loadEventFired');
			await send('Page.navigate', { url: a[0] });
			await loaded;
		} else if (op === 'eval') {
			const v = await evaluate(a.slice(1).join('\t'));
			console.log(a[0] + '=' + (typeof v === 'string' ? v : JSON.stringify(v)));
		} else if (op === 'script') {
			await evaluate(fs.readFileSync(a[0], 'utf8'));
		} else if (op === 'move') {
			await mouse('mouseMoved', +a[0], +a[1]);
		} else if (op === 'click') {
			await mouse('mouseMoved', +a[0], +a[1]);
			await mouse('mousePressed', +a[0], +a[1]);
			await mouse('mouseReleased', +a[0], +a[1]);
		} else if (op === 'key') {
			const k = a[0].replace(/^ctrl-/, '');
			const code = k.toUpperCase().charCodeAt(0);
			for (const type of ['rawKeyDown', 'keyUp'])
				await send('Input.dispatchKeyEvent', { type, modifiers: 2, key: k, code: 'Key' + k.toUpperCase(),
					windowsVirtualKeyCode: code });
		} else if (op === 'answer') {
			answer = a.join('\t');
		} else if (op === 'shot') {
			const r = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false });
			fs.writeFileSync(a[0], Buffer.from(r.data, 'base64'));
		} else if (op) {
			throw new Error('unknown step ' + op);
		}
	}
}

const steps = fs.readFileSync(0, 'utf8').split('\n');
run(steps).then(() => { clearTimeout(timer); finish(0); },
	(e) => { clearTimeout(timer); finish(1, 'error: ' + e.message); });
