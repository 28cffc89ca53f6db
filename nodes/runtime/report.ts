/**
 * Failures as the core MQTT nodes report them: a plain sentence for the log
 * and the debug sidebar, the MQTT-SN error code in msg.error.code for a
 * Catch node, and a word or two of reason in the node's status.
 */
import { ErrorCode, MqttSnError } from '../../lib';
import type { DoneFunction, NodeStatus } from './red';
import { statusOf } from './status';

/** The status text (a message key) for why a call failed: "no answer", "refused: congestion". */
export function reasonKey(err: unknown): string {
  if (!(err instanceof MqttSnError)) return 'node-red:common.status.error';
  switch (err.code) {
    case ErrorCode.TIMEOUT:
      return 'mqtt-sn.status.no-answer';
    case ErrorCode.GATEWAY_LOST:
      return 'mqtt-sn.status.gateway-lost';
    case ErrorCode.NOT_CONNECTED:
      return 'node-red:common.status.not-connected';
    case ErrorCode.WRONG_STATE:
      return 'mqtt-sn.status.not-active';
    case ErrorCode.REJECTED_CONGESTION:
      return 'mqtt-sn.status.refused-congestion';
    case ErrorCode.REJECTED_INVALID_TOPIC_ID:
      return 'mqtt-sn.status.refused-topic-id';
    case ErrorCode.REJECTED_NOT_SUPPORTED:
      return 'mqtt-sn.status.refused-not-supported';
    case ErrorCode.CONNECTION_REFUSED:
      // The gateway's return code is in the description ("... rejected by the gateway: congestion.").
      if (/congestion/.test(err.description)) return 'mqtt-sn.status.refused-congestion';
      if (/not supported/.test(err.description)) return 'mqtt-sn.status.refused-not-supported';
      return 'mqtt-sn.status.refused';
    case ErrorCode.PORT_UNREACHABLE:
      return 'mqtt-sn.status.port-closed';
    case ErrorCode.INVALID_ARGUMENT:
      return 'mqtt-sn.status.invalid';
    case ErrorCode.LIMIT_REACHED:
      return 'mqtt-sn.status.limit';
    case ErrorCode.SECURITY_LIBRARY:
      return 'mqtt-sn.status.no-dtls';
    case ErrorCode.CERTIFICATE_STORE:
    case ErrorCode.CERTIFICATE_NOT_FOUND:
    case ErrorCode.CREDENTIALS:
    case ErrorCode.SERVER_CERTIFICATE:
      return 'mqtt-sn.status.dtls-settings';
    case ErrorCode.HANDSHAKE:
      return 'mqtt-sn.status.dtls-handshake';
    case ErrorCode.CERTIFICATE_CHAIN:
    case ErrorCode.CERTIFICATE_VERIFY:
    case ErrorCode.CLIENT_CERTIFICATE:
      return 'mqtt-sn.status.dtls-certificate';
    default:
      return 'node-red:common.status.error';
  }
}

/** The red dot with the reason, for a failed call. */
export function failureStatus(err: unknown): NodeStatus {
  return statusOf('error', reasonKey(err));
}

/**
 * What done(err) and node.error() take for a failure: the sentence `what:
 * description`, as a String object that carries the error's code. Node-RED
 * prints it as plain text (not as an error object cut short in the debug
 * sidebar) and copies its own `code` into msg.error.code for a Catch node.
 */
export function coded(text: string, err?: unknown): Error {
  const code = err instanceof MqttSnError ? err.code : undefined;
  const report = new String(text);
  if (code !== undefined) Object.defineProperty(report, 'code', { value: code, enumerable: true });
  // Node-RED takes any value for an error; the type says Error so done() accepts it.
  return report as unknown as Error;
}

/** Ends a message's handling with `err`, in a sentence naming the call. */
export function fail(done: DoneFunction, call: string, err: unknown): void {
  done(coded(failureText(call, err), err));
}

/**
 * "publish failed: Timed out waiting for the gateway to acknowledge PUBLISH. (702)":
 * the library's description (English, as its errors are) and code.
 */
export function failureText(call: string, err: unknown): string {
  const description = err instanceof MqttSnError ? `${err.description} (${err.code})` : String((err as Error)?.message ?? err);
  return `${call} failed: ${description}`;
}
