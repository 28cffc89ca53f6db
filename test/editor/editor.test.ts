/**
 * The editor in a real browser (Debian's chromium through playwright-core):
 * the names in the palette and the dialogs, the mqtt-sn client dialog (its
 * validation, units, message sections, pre-defined topics editor and import),
 * the out and in node dialogs, importing an example from Import > Examples,
 * deploying it, and its messages in the debug sidebar. Leaves screenshots in
 * test-artifacts/. Every step waits for what it needs, with generous limits:
 * the suite runs on loaded machines.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { MqttSnGateway } from '../../lib/gateway';
import { EXAMPLE_PREDEFINED_TOPICS } from '../../scripts/example-flows';
import { freeUdpPort } from '../helpers/net';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = path.resolve(__dirname, '..', '..', '..');
/** The compiled nodes beside this suite's output (dist/nodes in a full build). */
const compiledNodes = path.resolve(__dirname, '..', '..', 'nodes');
const artifacts = path.join(repoRoot, 'test-artifacts');

/**
 * A package directory as Node-RED finds an installed module: package.json,
 * the compiled nodes and the examples (linked, not copied).
 */
function makeModuleDir(base: string): string {
  const dir = path.join(base, 'node-red-contrib-mqtt-sn');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'node-red-contrib-mqtt-sn', version: '0.0.0-test', 'node-red': { nodes: { 'mqtt-sn': 'nodes/mqtt-sn.js' } } }),
  );
  fs.symlinkSync(compiledNodes, path.join(dir, 'nodes'), 'dir');
  fs.symlinkSync(path.join(repoRoot, 'examples'), path.join(dir, 'examples'), 'dir');
  return dir;
}

function startServer(userDir: string, nodesDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), userDir, nodesDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`Node-RED did not start:\n${output}`)), 30000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /READY (\S+)/.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve({ child, url: ready[1] });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Node-RED exited (${code}):\n${output}`));
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Playwright's waits, generous: other builds and suites may share the machine's cores. */
const WAIT_MS = 30000;

type Red = {
  nodes: {
    getType(t: string): { paletteLabel?: string; defaults: Record<string, { validate?: (this: object, v: string, opt: object) => boolean | string }> };
    node(id: string): Record<string, unknown> | null;
    eachNode(f: (n: { id: string; valid?: boolean }) => void): void;
    eachConfig(f: (n: { id: string; valid?: boolean }) => void): void;
  };
};

describe('editor: the nodes in a real browser', function () {
  this.timeout(180000);
  let base: string;
  let gateway: MqttSnGateway;
  let server: { child: ChildProcess; url: string } | undefined;
  let context: BrowserContext | undefined;
  let page: Page;

  before(async function () {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-editor-'));
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, predefined: EXAMPLE_PREDEFINED_TOPICS, logLevel: 'error' });
    await gateway.start();
    const userDir = path.join(base, 'user');
    fs.mkdirSync(userDir);
    server = await startServer(userDir, makeModuleDir(path.join(base, 'modules')));
    context = await chromium.launchPersistentContext(path.join(base, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 900 },
    });
    context.setDefaultTimeout(WAIT_MS);
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url, { timeout: 60000 });
    await page.locator('#red-ui-palette-search').waitFor({ timeout: 60000 });
    // The palette fills in once the node definitions have loaded.
    await page.locator('.red-ui-palette-node[data-palette-type="mqtt-sn gateway"]').waitFor({ state: 'attached', timeout: 60000 });
  });

  after(async function () {
    await context?.close();
    if (server) await stopServer(server.child);
    await gateway?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** The editor's validator of one property, called as the editor calls it. */
  function validate(type: string, property: string, value: string, node: object = {}): Promise<boolean | string> {
    return page.evaluate(
      ({ type, property, value, node }) => {
        const red = (globalThis as unknown as { RED: Red }).RED;
        const check = red.nodes.getType(type).defaults[property].validate;
        return check ? check.call(node, value, {}) : true;
      },
      { type, property, value, node },
    );
  }

  async function hasError(field: Locator): Promise<boolean> {
    return ((await field.getAttribute('class')) ?? '').includes('input-error');
  }

  /** Opens a node's edit tray from the canvas. */
  async function openNode(id: string): Promise<void> {
    await page.locator(`g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node`).dblclick();
    await page.locator('#node-dialog-ok').waitFor();
  }

  /** Closes the topmost tray with its button and waits until it has gone. */
  async function closeTray(button: '#node-dialog-ok' | '#node-dialog-cancel' | '#node-config-dialog-ok' | '#node-config-dialog-cancel'): Promise<void> {
    await page.locator(button).click();
    await page.locator(button).waitFor({ state: 'detached' });
  }

  /**
   * Shows a tab of the mqtt-sn client (or gateway) dialog. Node-RED's tabs ignore a click
   * whose mousedown landed on another element, which a layout shift between
   * the two (a popover closing, a resize) causes on a busy machine; a person
   * clicks again, and so does this.
   */
  async function showTab(tab: 'messages' | 'topics' | 'security', dialog: 'client' | 'gateway' = 'client'): Promise<void> {
    const content = page.locator(`#mqtt-sn-${dialog}-tab-${tab}`);
    for (let attempt = 1; ; attempt++) {
      await page.locator(`#red-ui-tab-mqtt-sn-${dialog}-tab-${tab} a`).click();
      try {
        await content.waitFor({ state: 'visible', timeout: 5000 });
        return;
      } catch (err) {
        if (attempt === 5) throw err;
      }
    }
  }

  /** After a failed step, closes whatever it left open, so the next test starts from the workspace. */
  async function closeEverything(): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const open = page.locator('#node-config-dialog-cancel, #node-dialog-cancel, #red-ui-clipboard-dialog-cancel').filter({ visible: true });
      if ((await open.count()) === 0) return;
      await open.last().click({ timeout: 5000 }).catch(() => undefined);
      await open.last().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    }
  }

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await closeEverything();
  });

  async function trayTitle(): Promise<string> {
    return (await page.locator('.red-ui-tray-titlebar').last().innerText()).trim();
  }

  /** Imports `flow` as pasted JSON (Import > Clipboard) and drops it on the workspace at height `y`. */
  async function importFlow(flow: object[], y: number): Promise<void> {
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-import').click();
    // The dialog opens on the tab used last (Examples): back to the clipboard text.
    await page.locator('#red-ui-clipboard-dialog-import-tabs li', { hasText: 'Clipboard' }).click();
    const text = page.locator('#red-ui-clipboard-dialog-import-text');
    await text.fill(JSON.stringify(flow));
    // The dialog checks the JSON on key strokes.
    await text.press('End');
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    await page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });
    // Imported nodes follow the mouse until a click drops them on the workspace.
    const box = await page.locator('#red-ui-workspace-chart').boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + 200, box.y + y);
    await page.mouse.click(box.x + 200, box.y + y);
  }

  async function shoot(name: string): Promise<void> {
    // No tooltip, hover effect or notification over the picture.
    await page.mouse.move(5, 890);
    await page.locator('.red-ui-popover').first().waitFor({ state: 'detached' }).catch(() => undefined);
    await page.locator('.red-ui-notification').first().waitFor({ state: 'detached', timeout: 10000 }).catch(() => undefined);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
  }

  it('names the family mqtt-sn in, out, register, sleep, gateway in the MQTT-SN palette, and the config node mqtt-sn client', async function () {
    const header = page.locator('.red-ui-palette-header', { hasText: 'MQTT-SN' });
    await header.waitFor();
    for (const type of ['mqtt-sn in', 'mqtt-sn out', 'mqtt-sn register', 'mqtt-sn sleep', 'mqtt-sn gateway']) {
      const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await entry.waitFor({ state: 'attached' });
      assert.equal(await entry.count(), 1, `${type} in the palette`);
      // The palette wraps labels at hyphens and spaces into separate spans.
      const label = (await entry.locator('.red-ui-palette-label').textContent()) ?? '';
      assert.equal(label.replace(/\s+/g, ''), type.replace(/\s+/g, ''), `${type}'s palette label`);
    }
    const category = await page.locator('.red-ui-palette-node[data-palette-type="mqtt-sn out"]').evaluate((el) => el.closest('.red-ui-palette-category')?.id);
    assert.equal(category, 'red-ui-palette-container-mqttsn');
    const configLabel = await page.evaluate(() => (globalThis as unknown as { RED: Red }).RED.nodes.getType('mqtt-sn-broker').paletteLabel);
    assert.equal(configLabel, 'mqtt-sn client');
  });

  it('gives each port field an error text that matches what it accepts', async function () {
    // The gateway node may listen on any free port (0); a client must name the gateway's port.
    assert.equal(await validate('mqtt-sn gateway', 'port', '0'), true);
    assert.match(String(await validate('mqtt-sn gateway', 'port', '70000')), /from 0 to 65535/);
    assert.match(String(await validate('mqtt-sn-broker', 'port', '0')), /from 1 to 65535/);
    assert.match(String(await validate('mqtt-sn-broker', 'port', '70000')), /from 1 to 65535/);
  });

  it('says what is missing for an empty host, and refuses QoS -1 with a topic name', async function () {
    assert.match(String(await validate('mqtt-sn-broker', 'host', '  ')), /gateway's host name or IP address/);
    assert.equal(await validate('mqtt-sn-broker', 'host', 'gw.local'), true);
    assert.match(String(await validate('mqtt-sn gateway', 'host', '')), /address to listen on/);
    assert.match(String(await validate('mqtt-sn out', 'qos', '-1', { topicType: 'normal' })), /QoS -1 needs a short topic name or a pre-defined topic id/);
    assert.equal(await validate('mqtt-sn out', 'qos', '-1', { topicType: 'short' }), true);
    assert.equal(await validate('mqtt-sn out', 'qos', '-1', { topicType: 'predefined' }), true);
    assert.equal(await validate('mqtt-sn out', 'qos', '1', { topicType: 'normal' }), true);
  });

  it('imports an example from Import > Examples, in the format flows are saved today', async function () {
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-import').click();
    await page.locator('#red-ui-clipboard-dialog-import-tabs li', { hasText: 'Examples' }).click();
    const browserPane = page.locator('.red-ui-library-browser').filter({ visible: true });
    await browserPane.locator('.red-ui-treeList-label', { hasText: 'node-red-contrib-mqtt-sn' }).click();
    await browserPane.locator('.red-ui-treeList-label', { hasText: '01 Publish and subscribe' }).click();
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    await page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });
    // Imported nodes follow the mouse until a click drops them on the workspace.
    const chart = page.locator('#red-ui-workspace-chart');
    const box = await chart.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + 300, box.y + 200);
    await page.mouse.click(box.x + 300, box.y + 200);
    for (const id of ['ex1.inject', 'ex1.out', 'ex1.in', 'ex1.debug', 'ex1.comment']) {
      await page.locator(`g.red-ui-flow-node-group[id="${id}"]`).waitFor();
    }
    // Every imported node passes the editor's validation (no warning triangle).
    const invalid = await page.evaluate(() => {
      const red = (globalThis as unknown as { RED: Red }).RED;
      const bad: string[] = [];
      const check = (n: { id: string; valid?: boolean }) => {
        if (n.valid === false) bad.push(n.id);
      };
      red.nodes.eachNode(check);
      red.nodes.eachConfig(check);
      return bad;
    });
    assert.deepEqual(invalid, []);
  });

  it('edits the mqtt-sn client: titles, validation with reasons, units, Connect automatically, its Security tab', async function () {
    await openNode('ex1.out');
    assert.match(await trayTitle(), /Edit mqtt-sn out node/);
    assert.equal((await page.locator('label[for="node-input-broker"]').innerText()).trim(), 'Client');
    await page.locator('#node-input-btn-broker-edit').click();
    const host = page.locator('#node-config-input-host');
    const port = page.locator('#node-config-input-port');
    const clientId = page.locator('#node-config-input-clientid');
    await host.waitFor();
    assert.match(await trayTitle(), /Edit mqtt-sn client node/);
    assert.equal(await host.inputValue(), '127.0.0.1');
    assert.equal(await port.inputValue(), '1884');
    // A flow saved before the setting existed connects automatically, as before.
    assert.equal(await page.locator('#node-config-input-autoConnect').isChecked(), true);
    for (const field of ['keepalive', 'timeout', 'retryInterval']) {
      assert.equal((await page.locator(`#node-config-input-${field} + .mqtt-sn-unit`).textContent())?.trim(), 'seconds', `${field} has a unit`);
    }

    await port.fill('70000');
    await port.press('Tab');
    assert.ok(await hasError(port), 'port 70000 is refused');
    await port.fill('abc');
    await port.press('Tab');
    assert.ok(await hasError(port), 'a port must be a number');
    await host.fill('');
    await host.press('Tab');
    assert.ok(await hasError(host), 'the host is required');
    // The reason shows when the pointer rests on the field.
    await host.hover();
    await page.locator('.red-ui-popover', { hasText: "host name or IP address" }).waitFor();
    await clientId.fill('a-client-id-longer-than-23-bytes');
    await clientId.press('Tab');
    assert.ok(await hasError(clientId), 'client ids are at most 23 bytes');
    await shoot('editor-client-connection');

    // Point the example at this suite's gateway.
    await host.fill('127.0.0.1');
    await port.fill(String(gateway.address().port));
    await clientId.fill('editor-test');
    await clientId.press('Tab');
    assert.ok(!(await hasError(host)) && !(await hasError(port)) && !(await hasError(clientId)), 'valid values clear the errors');

    // Security: DTLS settings show once DTLS is on; a TLS configuration takes the place of the files and the verify checkbox.
    await showTab('security');
    const caFile = page.locator('#node-config-input-dtlsCaFile');
    assert.equal(await caFile.isVisible(), false);
    await page.locator('#node-config-input-dtls').check();
    await caFile.waitFor({ state: 'visible' });
    await page.locator('#node-config-input-pskKey').waitFor({ state: 'visible' });
    await page.locator('#node-config-input-usetls').check();
    await page.locator('.mqtt-sn-client-tls').waitFor({ state: 'visible' });
    await caFile.waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#node-config-input-dtlsVerify').isVisible(), false);
    await page.locator('#node-config-input-usetls').uncheck();
    await page.locator('#node-config-input-dtls').uncheck();
    await caFile.waitFor({ state: 'hidden' });
  });

  it('edits birth, close and will messages in collapsible sections', async function () {
    await showTab('messages');
    const birthTopic = page.locator('#node-config-input-birthTopic');
    const closeTopic = page.locator('#node-config-input-closeTopic');
    // Nothing set yet: the birth section is open, the others closed.
    await birthTopic.waitFor();
    assert.equal(await closeTopic.isVisible(), false);
    await page.locator('#mqtt-sn-client-section-close .red-ui-palette-header').click();
    await closeTopic.waitFor();
    await birthTopic.fill('demo/+');
    await birthTopic.press('Tab');
    assert.ok(await hasError(birthTopic), 'a birth topic has no wildcards');
    await birthTopic.fill('demo/presence');
    await page.locator('#node-config-input-birthPayload').fill('online');
    await closeTopic.fill('demo/presence');
    await page.locator('#node-config-input-closePayload').fill('offline');
    await page.locator('#node-config-input-closeRetain').selectOption('true');
    await closeTopic.press('Tab');
    assert.ok(!(await hasError(birthTopic)) && !(await hasError(closeTopic)));
    await shoot('editor-client-messages');
  });

  it('edits pre-defined topics as id and name rows, importing a Paho predefinedTopic.conf and an EMQX list', async function () {
    await showTab('topics');
    const rows = page.locator('#node-config-input-predefined-list .mqtt-sn-predefined-row');
    await rows.first().waitFor();
    const read = () =>
      rows.evaluateAll((els) =>
        // Runs in the browser: this suite compiles without the DOM types.
        els.map((el) => ['.mqtt-sn-predefined-id', '.mqtt-sn-predefined-name'].map((c) => (el.querySelector(c) as unknown as { value: string }).value)),
      );
    assert.deepEqual(await read(), [['1', 'demo/alarm'], ['2', 'demo/status']]);

    const importArea = page.locator('#node-config-input-predefined-import');
    const text = importArea.locator('textarea');
    await importArea.locator('.mqtt-sn-predefined-import-toggle').click();
    await text.fill(['# ClientId, TopicName, TopicId', '*, demo/pressure, 3', 'editor-test, demo/humidity, 4', 'other-client, demo/elsewhere, 5'].join('\n'));
    await importArea.locator('.mqtt-sn-predefined-import-add').click();
    // Paho lines for every client ("*") and for this client ID; another client's line is skipped.
    await importArea.locator('.mqtt-sn-predefined-result', { hasText: '2 taken, 1 skipped' }).waitFor();
    await importArea.locator('.mqtt-sn-predefined-import-toggle').click();
    await text.fill('predefined = [\n  { id = 6, topic = "demo/wind" },\n  { id = 2, topic = "demo/state" }\n]');
    await importArea.locator('.mqtt-sn-predefined-import-add').click();
    await importArea.locator('.mqtt-sn-predefined-result', { hasText: '2 taken, 0 skipped' }).waitFor();
    // An imported id already listed takes the imported name.
    assert.deepEqual(await read(), [['1', 'demo/alarm'], ['2', 'demo/state'], ['3', 'demo/pressure'], ['4', 'demo/humidity'], ['6', 'demo/wind']]);

    // A row by hand: an id listed twice is marked, and so is one out of range.
    await page.locator('.node-config-predefined-container-row .red-ui-editableList-addButton').click();
    const last = rows.last();
    await last.locator('.mqtt-sn-predefined-id').fill('3');
    await last.locator('.mqtt-sn-predefined-name').fill('demo/again');
    assert.ok(await hasError(last.locator('.mqtt-sn-predefined-id')), 'a duplicate id is marked');
    await last.locator('.mqtt-sn-predefined-id').fill('70000');
    assert.ok(await hasError(last.locator('.mqtt-sn-predefined-id')), 'an id above 65534 is marked');
    await last.locator('.mqtt-sn-predefined-id').fill('7');
    assert.ok(!(await hasError(last.locator('.mqtt-sn-predefined-id'))));
    await shoot('editor-client-topics');

    await closeTray('#node-config-dialog-ok');
    await closeTray('#node-dialog-ok');
    const saved = await page.evaluate(() => (globalThis as unknown as { RED: Red }).RED.nodes.node('mqttsn.local'));
    assert.ok(saved);
    assert.deepEqual(JSON.parse(String(saved.predefined)), {
      1: 'demo/alarm',
      2: 'demo/state',
      3: 'demo/pressure',
      4: 'demo/humidity',
      6: 'demo/wind',
      7: 'demo/again',
    });
    assert.equal(saved.birthTopic, 'demo/presence');
    assert.equal(saved.closePayload, 'offline');
    assert.equal(saved.closeRetain, 'true');
    assert.equal(saved.autoConnect, true);
    assert.equal(Number(saved.port), gateway.address().port, 'the port typed in the connection tab is kept');
  });

  it('marks QoS -1 with a topic name in the mqtt-sn out dialog, until the topic type allows it', async function () {
    await openNode('ex1.out');
    const qos = page.locator('#node-input-qos');
    const topicType = page.locator('#node-input-topicType');
    await qos.selectOption('-1');
    assert.ok(await hasError(qos), 'QoS -1 with a registered topic name is marked');
    await qos.hover();
    await page.locator('.red-ui-popover', { hasText: 'QoS -1 needs a short topic name' }).waitFor();
    await shoot('editor-out-qos');
    await topicType.selectOption('predefined');
    assert.ok(!(await hasError(qos)), 'QoS -1 with a pre-defined topic is fine');
    await closeTray('#node-dialog-cancel');
  });

  it('offers the core MQTT in node output formats, and units on the sleep duration', async function () {
    await openNode('ex1.in');
    const formats = await page.locator('#node-input-datatype option').evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value));
    assert.deepEqual(formats, ['auto', 'auto-string', 'buffer', 'utf8', 'json', 'base64']);
    const labels = await page.locator('#node-input-datatype option').allTextContents();
    assert.ok(labels.includes('a Base64 encoded string') && labels.includes('auto-detect (string or buffer)'), labels.join(', '));
    await closeTray('#node-dialog-cancel');
    const template = await page.locator('script[data-template-name="mqtt-sn sleep"]').innerHTML();
    const unit = /node-input-duration[^>]*>\s*<span class="mqtt-sn-unit"/.test(template);
    assert.ok(unit, 'the sleep duration has a unit');
  });

  it('deploys the example and shows its messages in the debug sidebar', async function () {
    await page.locator('#red-ui-header-button-deploy').click();
    const debugTab = page.locator('#red-ui-tab-debug-link-button');
    if (await debugTab.isVisible()) await debugTab.click();
    else await page.locator('#red-ui-tab-debug a').first().click();
    const message = page.locator('.red-ui-debug-msg', { hasText: 'demo/hello' }).first();
    await message.waitFor({ timeout: 60000 });
    // The in node shows "connected" under it.
    await page.locator('.red-ui-flow-node-status-label', { hasText: 'connected' }).first().waitFor();
    // For the picture: only this package's nodes in the palette.
    await page.locator('#red-ui-palette-search input').pressSequentially('mqtt-sn');
    await shoot('editor');
    const text = await message.innerText();
    assert.match(text, /topicId/);
  });

  it('heads the client configurations "mqtt-sn client" in the configuration nodes sidebar', async function () {
    await page.evaluate(() => (globalThis as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('config'));
    const heading = page.locator('li.red-ui-palette-node-config-type', { hasText: 'mqtt-sn client' }).first();
    await heading.waitFor();
    assert.equal(await page.locator('li.red-ui-palette-node-config-type', { hasText: 'mqtt-sn-broker' }).count(), 0);
    await shoot('editor-config-sidebar');
    await page.evaluate(() => (globalThis as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('debug'));
  });

  it('shows why: "port closed" under a node whose gateway port is closed, failures as plain sentences in the debug sidebar, a client that waits for a connect action', async function () {
    const closedPort = await freeUdpPort();
    const flow = [
      { id: 'edt.closed', type: 'mqtt-sn-broker', name: 'closed port', host: '127.0.0.1', port: closedPort, retryInterval: 5, retryCount: 3, timeout: 30 },
      { id: 'edt.closed.out', type: 'mqtt-sn out', name: 'to a closed port', broker: 'edt.closed', topicType: 'normal', topic: 'x/y', qos: '1', retain: '', x: 500, y: 420, wires: [] },
      {
        id: 'edt.manual', type: 'mqtt-sn-broker', name: 'manual', host: '127.0.0.1', port: gateway.address().port, clientid: 'editor-manual',
        autoConnect: false, birthTopic: 'demo/presence', birthPayload: 'manual client online', birthQos: '1', birthRetain: 'false',
      },
      { id: 'edt.manual.inject', type: 'inject', name: 'connect', props: [{ p: 'action', v: 'connect', vt: 'str' }], repeat: '', once: false, x: 160, y: 480, wires: [['edt.manual.out']] },
      { id: 'edt.manual.out', type: 'mqtt-sn out', name: 'manual', broker: 'edt.manual', topicType: 'normal', topic: 'demo/manual', qos: '1', retain: '', x: 500, y: 480, wires: [] },
      { id: 'edt.presence', type: 'mqtt-sn in', name: 'presence', broker: 'mqttsn.local', topicType: 'normal', topic: 'demo/presence', qos: '1', datatype: 'auto', inputs: 0, x: 160, y: 540, wires: [['edt.presence.debug']] },
      { id: 'edt.presence.debug', type: 'debug', name: 'presence', active: true, tosidebar: true, complete: 'payload', x: 500, y: 540, wires: [] },
      { id: 'edt.err.inject', type: 'inject', name: 'to id 99', props: [{ p: 'payload', v: 'x', vt: 'str' }], repeat: '', once: false, x: 160, y: 600, wires: [['edt.err.out']] },
      { id: 'edt.err.out', type: 'mqtt-sn out', name: 'unknown id', broker: 'mqttsn.local', topicType: 'predefined', topic: '99', qos: '1', retain: '', x: 500, y: 600, wires: [] },
    ];
    await importFlow(flow, 420);
    await page.locator('g.red-ui-flow-node-group[id="edt.err.out"]').waitFor();
    await page.locator('#red-ui-header-button-deploy').click();
    const statusOf = (id: string) => page.locator(`g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-status-label`);

    // Nothing listens on the port: the node says so within seconds, not after retransmissions.
    await statusOf('edt.closed.out').filter({ hasText: 'port closed' }).waitFor({ timeout: 20000 });
    // Connect automatically is off: no attempt until the connect action.
    await statusOf('edt.manual.out').filter({ hasText: 'disconnected' }).waitFor();
    await page.locator('g.red-ui-flow-node-group[id="edt.manual.inject"] .red-ui-flow-node-button').click();
    await statusOf('edt.manual.out').filter({ hasText: 'connected' }).filter({ hasNotText: 'dis' }).waitFor({ timeout: 20000 });
    // Its birth message, heard by an in node of the example's client.
    await page.locator('.red-ui-debug-msg', { hasText: 'manual client online' }).first().waitFor({ timeout: 20000 });

    // A rejected publish without a Catch node: a plain sentence with the code, and the reason under the node.
    await page.locator('g.red-ui-flow-node-group[id="edt.err.inject"] .red-ui-flow-node-button').click();
    const failure = page.locator('.red-ui-debug-msg', { hasText: 'publish failed' }).first();
    await failure.waitFor({ timeout: 20000 });
    assert.match(await failure.innerText(), /publish failed: .*invalid topic id.*\(704\)/);
    await statusOf('edt.err.out').filter({ hasText: 'refused: invalid topic id' }).waitFor();
    // The closed port is in the status, not repeated in the sidebar at every attempt.
    assert.equal(await page.locator('.red-ui-debug-msg', { hasText: 'ICMP port unreachable' }).count(), 0);
    await shoot('editor-status-and-errors');
  });

  it('edits the mqtt-sn gateway node: Broker URL, pre-defined topics taken from every client of a Paho file, and its Security tab', async function () {
    await importFlow([{ id: 'edt.gw', type: 'mqtt-sn gateway', name: 'hosted', host: '127.0.0.1', port: 0, broker: '', mode: 'transparent', predefined: '{"1":"demo/alarm"}', x: 700, y: 660 }], 660);
    await openNode('edt.gw');
    assert.match(await trayTitle(), /Edit mqtt-sn gateway node/);
    assert.equal((await page.locator('label[for="node-input-broker"]').innerText()).trim(), 'Broker URL');
    const rows = page.locator('#node-input-predefined-list .mqtt-sn-predefined-row');
    await rows.first().waitFor();
    const importArea = page.locator('#node-input-predefined-import');
    await importArea.locator('.mqtt-sn-predefined-import-toggle').click();
    await importArea.locator('textarea').fill(['*, demo/pressure, 3', 'sensor-a, demo/a, 4', 'sensor-b, demo/b, 5'].join('\n'));
    await importArea.locator('.mqtt-sn-predefined-import-add').click();
    // The gateway's map serves every client: no line is skipped.
    await importArea.locator('.mqtt-sn-predefined-result', { hasText: '3 taken, 0 skipped' }).waitFor();
    assert.equal(await rows.count(), 4);
    await shoot('editor-gateway');
    // The Security tab: the DTLS fields show once DTLS is on, the TLS configuration picker instead of files when chosen.
    await showTab('security', 'gateway');
    const dtlsPort = page.locator('#node-input-dtlsPort');
    assert.equal(await dtlsPort.isVisible(), false);
    await page.locator('#node-input-dtls').check();
    await dtlsPort.waitFor({ state: 'visible' });
    assert.equal(await dtlsPort.inputValue(), '8883');
    await page.locator('.node-input-psk-container-row .red-ui-editableList-addButton').click();
    await page.locator('#node-input-psk-list .mqtt-sn-psk-identity').first().fill('sensor-1');
    await page.locator('#node-input-psk-list .mqtt-sn-psk-key').first().fill('00112233');
    await page.locator('#node-input-dtlsCertFile').waitFor({ state: 'visible' });
    await page.locator('#node-input-usetls').check();
    await page.locator('.mqtt-sn-gateway-tls').waitFor({ state: 'visible' });
    await page.locator('#node-input-dtlsCertFile').waitFor({ state: 'hidden' });
    for (const field of ['#node-input-dtlsOnly', '#node-input-dtlsRequireClientCert', '#node-input-dtlsClientIds', '#node-input-dtlsIdentityAsUsername']) {
      assert.ok(await page.locator(field).isVisible(), `${field} shows`);
    }
    await page.locator('#node-input-usetls').uncheck();
    await page.locator('#node-input-dtlsCertFile').waitFor({ state: 'visible' });
    await shoot('editor-gateway-security');
    await closeTray('#node-dialog-ok');
    const saved = await page.evaluate(() => (globalThis as unknown as { RED: Red }).RED.nodes.node('edt.gw'));
    assert.deepEqual(JSON.parse(String(saved?.predefined)), { 1: 'demo/alarm', 3: 'demo/pressure', 4: 'demo/a', 5: 'demo/b' });
    // The key row goes to the credentials (the flow keeps only the settings), no TLS configuration without the checkbox.
    assert.equal(saved?.dtls, true);
    assert.ok(!saved?.tls, 'no TLS configuration');
    const credentials = saved?.credentials as Record<string, unknown>;
    assert.deepEqual([credentials.pskIdentities, credentials.pskKeys], ['sensor-1', 'sensor-1:00112233']);
  });
});
