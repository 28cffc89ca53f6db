/**
 * The editor in a real browser (Debian's chromium through playwright-core):
 * the palette, the config dialog and its validation, importing an example
 * from Import > Examples, deploying it, and its messages in the debug
 * sidebar. Leaves a screenshot in test-artifacts/editor.png.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { MqttSnGateway } from '../../lib/gateway';
import { EXAMPLE_PREDEFINED_TOPICS } from '../../scripts/example-flows';

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

describe('editor: the nodes in a real browser', function () {
  this.timeout(60000);
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
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    await page.locator('#red-ui-palette-search').waitFor({ timeout: 30000 });
  });

  after(async function () {
    await context?.close();
    if (server) await stopServer(server.child);
    await gateway?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('shows the nodes in the MQTT-SN palette category', async function () {
    const header = page.locator('.red-ui-palette-header', { hasText: 'MQTT-SN' });
    await header.waitFor();
    for (const type of ['mqtt-sn in', 'mqtt-sn out', 'mqtt-sn register', 'mqtt-sn sleep', 'mqtt-sn gateway']) {
      const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await entry.waitFor({ state: 'attached' });
      assert.equal(await entry.count(), 1, `${type} in the palette`);
    }
    const category = await page.locator('.red-ui-palette-node[data-palette-type="mqtt-sn out"]').evaluate((el) => el.closest('.red-ui-palette-category')?.id);
    assert.equal(category, 'red-ui-palette-container-mqttsn');
  });

  it('gives each port field an error text that matches what it accepts', async function () {
    const verdicts = await page.evaluate(() => {
      type Validate = (this: object, value: string, opt: object) => boolean | string;
      const red = (globalThis as unknown as { RED: { nodes: { getType(t: string): { defaults: { port: { validate: Validate } } } } } }).RED;
      const check = (type: string, value: string) => red.nodes.getType(type).defaults.port.validate.call({}, value, {});
      return {
        gateway0: check('mqtt-sn gateway', '0'),
        gatewayTooBig: check('mqtt-sn gateway', '70000'),
        config0: check('mqtt-sn-broker', '0'),
        configTooBig: check('mqtt-sn-broker', '70000'),
      };
    });
    // The gateway node may listen on any free port (0); a client must name the gateway's port.
    assert.equal(verdicts.gateway0, true);
    assert.match(String(verdicts.gatewayTooBig), /from 0 to 65535/);
    assert.match(String(verdicts.config0), /from 1 to 65535/);
    assert.match(String(verdicts.configTooBig), /from 1 to 65535/);
  });

  it('imports an example from Import > Examples', async function () {
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.locator('#red-ui-clipboard-dialog-import-tabs li', { hasText: 'Examples' }).click();
    const browserPane = page.locator('.red-ui-library-browser').filter({ visible: true });
    await browserPane.locator('.red-ui-treeList-label', { hasText: 'node-red-contrib-mqtt-sn' }).click();
    await browserPane.locator('.red-ui-treeList-label', { hasText: '01 Publish and subscribe' }).click();
    await page.click('#red-ui-clipboard-dialog-ok');
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
      type EditorNode = { id: string; valid?: boolean };
      const red = (globalThis as unknown as { RED: { nodes: { eachNode(f: (n: EditorNode) => void): void; eachConfig(f: (n: EditorNode) => void): void } } }).RED;
      const bad: string[] = [];
      const check = (n: EditorNode) => {
        if (n.valid === false) bad.push(n.id);
      };
      red.nodes.eachNode(check);
      red.nodes.eachConfig(check);
      return bad;
    });
    assert.deepEqual(invalid, []);
  });

  it('opens the config dialog and validates its fields', async function () {
    await page.locator('g.red-ui-flow-node-group[id="ex1.out"] .red-ui-flow-node').dblclick();
    await page.locator('#node-input-broker').waitFor({ state: 'attached' });
    await page.click('#node-input-btn-broker-edit');
    const host = page.locator('#node-config-input-host');
    const port = page.locator('#node-config-input-port');
    const clientId = page.locator('#node-config-input-clientid');
    await host.waitFor();
    assert.equal(await host.inputValue(), '127.0.0.1');
    assert.equal(await port.inputValue(), '1884');

    const hasError = async (field: typeof host) => (await field.getAttribute('class'))?.includes('input-error') ?? false;
    await port.fill('70000');
    await port.press('Tab');
    assert.ok(await hasError(port), 'port 70000 is refused');
    await port.fill('abc');
    await port.press('Tab');
    assert.ok(await hasError(port), 'a port must be a number');
    await host.fill('');
    await host.press('Tab');
    assert.ok(await hasError(host), 'the host is required');
    await clientId.fill('a-client-id-longer-than-23-bytes');
    await clientId.press('Tab');
    assert.ok(await hasError(clientId), 'client ids are at most 23 bytes');

    // Point the example at this suite's gateway.
    await host.fill('127.0.0.1');
    await port.fill(String(gateway.address().port));
    await clientId.fill('editor-test');
    await clientId.press('Tab');
    assert.ok(!(await hasError(host)) && !(await hasError(port)) && !(await hasError(clientId)), 'valid values clear the errors');
    await page.click('#node-config-dialog-ok');
    await page.click('#node-dialog-ok');
  });

  it('deploys the example and shows its messages in the debug sidebar', async function () {
    await page.click('#red-ui-header-button-deploy');
    const debugTab = page.locator('#red-ui-tab-debug-link-button');
    if (await debugTab.isVisible()) await debugTab.click();
    else await page.locator('#red-ui-tab-debug a').first().click();
    const message = page.locator('.red-ui-debug-msg', { hasText: 'demo/hello' }).first();
    await message.waitFor({ timeout: 20000 });
    // The in node shows "connected" under it.
    await page.locator('.red-ui-flow-node-status-label', { hasText: 'connected' }).first().waitFor();
    // For the picture: only this package's nodes in the palette, no tooltip under the mouse.
    await page.locator('#red-ui-palette-search input').pressSequentially('mqtt-sn');
    await page.mouse.move(600, 750);
    await page.waitForTimeout(500);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'editor.png') });
    const text = await message.innerText();
    assert.match(text, /topicId/);
  });
});
