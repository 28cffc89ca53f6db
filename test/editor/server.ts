/**
 * Node-RED for the editor suite, in a process of its own (the node suites
 * use Node-RED's runtime in the mocha process). Arguments: user directory,
 * nodes directory. Prints "READY <url>"; stops on SIGTERM.
 */
import { startNodeRed } from '../../scripts/node-red-runtime';

async function main(): Promise<void> {
  const [userDir, nodesDir] = process.argv.slice(2);
  if (!userDir || !nodesDir) throw new Error('usage: server.js <userDir> <nodesDir>');
  const nodeRed = await startNodeRed({ userDir, nodesDir: [nodesDir], port: 0, logLevel: 'warn' });
  process.once('SIGTERM', () => {
    void nodeRed.stop().then(() => process.exit(0));
  });
  console.log(`READY ${nodeRed.url}`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
