/** Help texts: `help`, `help COMMAND`, `COMMAND --help`. */
import type { CommandName } from "./args.ts";

const CONNECTION = `Connection (flags win over variables, variables over the context; the defaults apply when no context is in use):
  --url URL        REPLICA_API_URL       default https://localhost:8443
  --cert FILE      REPLICA_API_CERT      client certificate (PEM); default certs/client.crt of this checkout
  --key FILE       REPLICA_API_KEY       its private key (PEM); default certs/client.key
  --cacert FILE    REPLICA_API_CACERT    CA that signed the server certificate; default certs/ca.crt
  --context NAME   REPLICA_API_CONTEXT   a context of the config file (replica-api help config); default its current one`;

const EXIT_CODES = `Exit codes: 0 ok, 1 error, 2 usage, 3 precondition failed (412) or conflict (409).`;

const TOPICS: Readonly<Record<CommandName, string>> = {
  list: `Usage: replica-api list [-n NAMESPACE] [-o table|json]

Lists Deployments (all readable namespaces, or one) as a table of NAMESPACE NAME REPLICAS READY AVAILABLE,
or as the API's JSON with -o json.`,
  get: `Usage: replica-api get NAMESPACE/NAME [-o table|json]

Shows one Deployment, with its resourceVersion (what --if-match takes) and the autoscaler that targets it.`,
  scale: `Usage: replica-api scale NAMESPACE/NAME REPLICAS [--wait [--timeout 60s]] [--if-match ETAG] [--dry-run] [--force] [-o table|json]

Sets spec.replicas through the API.
  --wait           follow the rollout, printing progress, until it completes (kubectl rollout status rules)
  --timeout D      give up waiting after D (500ms, 30s, 5m, 1h; default 60s); exit 1 with the Deployment's reason
  --if-match ETAG  only if the Deployment is still at that version (ETag or resourceVersion from get); else exit 3
  --dry-run        let the API server validate and admit the change without making it
  --force          scale even though a HorizontalPodAutoscaler targets the Deployment (it may undo the change)`,
  watch: `Usage: replica-api watch [-n NAMESPACE] [-o table|json]

Streams Deployment changes (ADDED, MODIFIED, DELETED) until interrupted. Reconnects by itself, resuming where it
left off. The table shows a MODIFIED only when one of its columns changed; -o json prints every event, one
{"type","object"} document per line.`,
  whoami: `Usage: replica-api whoami [-o table|json]

Shows who the service takes your client certificate for (CN, organizations, serial, fingerprint, issuer), when it
expires, the authorization policy in force, and the permissions you hold per namespace ("*": every namespace).
-o json prints the service's answer as it is.`,
  config: `Usage: replica-api config get-contexts | current-context | use-context NAME | delete-context NAME
       replica-api config set-context NAME [--url URL] [--cert FILE] [--key FILE] [--cacert FILE]

Named connections (contexts), as in a kubeconfig, kept in $XDG_CONFIG_HOME/replica-api/config.json
(else ~/.config/replica-api/config.json; written with mode 0600).
  get-contexts         list them; * marks the current one
  current-context      print the current one's name
  use-context NAME     make NAME the current one
  set-context NAME     create NAME, or change the fields given (paths are stored absolute)
  delete-context NAME  remove NAME

The other commands use the context named by --context or REPLICA_API_CONTEXT, else the current one. Flags and
variables still win over its fields; a field that none of them gives is an error (the defaults apply only when no
context is in use). Relative paths written in the file by hand are taken from the file's folder.`,
  help: `Usage: replica-api help [COMMAND]`,
};

export function helpText(topic?: CommandName): string {
  if (topic !== undefined) return `${TOPICS[topic]}\n\n${CONNECTION}\n\n${EXIT_CODES}`;
  return `replica-api: list Deployments and read or set their replica counts through the replica-api service (mTLS).

Usage: replica-api COMMAND [flags]

Commands:
  list [-n NAMESPACE]           Deployments as a table (or -o json)
  get NAMESPACE/NAME            one Deployment
  scale NAMESPACE/NAME N        set the replica count [--wait] [--timeout D] [--if-match ETAG] [--dry-run] [--force]
  watch [-n NAMESPACE]          stream changes as they happen
  whoami                        your identity, its expiry, and your permissions per namespace
  config VERB                   named connections (contexts): get-contexts, use-context NAME, set-context NAME, ...
  help [COMMAND]                this text, or a command's

Flags: -h, --help; --version; -o, --output table|json

${CONNECTION}

${EXIT_CODES}`;
}
