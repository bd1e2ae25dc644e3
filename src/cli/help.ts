/** Help texts: `help`, `help COMMAND`, `COMMAND --help`. */
import type { CommandName } from "./args.ts";

const CONNECTION = `Connection (flags win over variables, variables over the context; the defaults apply when no context is in use):
  --url URL        REPLICA_API_URL       default https://localhost:8443
  --cert FILE      REPLICA_API_CERT      client certificate (PEM); default certs/client.crt of this checkout
  --key FILE       REPLICA_API_KEY       its private key (PEM); default certs/client.key
  --cacert FILE    REPLICA_API_CACERT    CA that signed the server certificate; default certs/ca.crt
  --context NAME   REPLICA_API_CONTEXT   a context of the config file (replica-api help config); default its current one`;

const EXIT_CODES = `Exit codes: 0 ok, 1 error, 2 usage, 3 precondition failed (412) or conflict (409).`;

const WRITE_USAGE = "[--wait [--timeout 60s]] [--if-match ETAG] [--dry-run] [-o table|json]";

const WRITE_FLAGS = `  --wait           follow the rollout, printing progress, until it completes (kubectl rollout status rules)
  --timeout D      give up waiting after D (500ms, 30s, 5m, 1h; default 60s); exit 1 with the Deployment's reason
  --if-match ETAG  only if the Deployment is still at that version (ETag or resourceVersion from get); else exit 3
  --dry-run        let the API server validate and admit the change without making it`;

const TOPICS: Readonly<Record<CommandName, string>> = {
  list: `Usage: replica-api list [-n NAMESPACE] [-o table|json]

Lists Deployments (all readable namespaces, or one) as a table of NAMESPACE NAME REPLICAS READY AVAILABLE,
or as the API's JSON with -o json.`,
  get: `Usage: replica-api get NAMESPACE/NAME [-o table|json]

Shows one Deployment, with its resourceVersion (what --if-match takes) and the autoscaler that targets it.`,
  scale: `Usage: replica-api scale NAMESPACE/NAME REPLICAS [--wait [--timeout 60s]] [--if-match ETAG] [--dry-run] [--force] [-o table|json]

Sets spec.replicas through the API.
${WRITE_FLAGS}
  --force          scale even though a HorizontalPodAutoscaler targets the Deployment (it may undo the change)`,
  restart: `Usage: replica-api restart NAMESPACE/NAME ${WRITE_USAGE}

Restarts every Pod of the Deployment by a rolling update, as kubectl rollout restart does (a new
kubectl.kubernetes.io/restartedAt annotation on the pod template). A paused Deployment is refused (exit 3): resume it
first.
${WRITE_FLAGS}`,
  pause: `Usage: replica-api pause NAMESPACE/NAME [--if-match ETAG] [--dry-run] [-o table|json]

Pauses the Deployment's rollouts (spec.paused): changes to its pod template wait until resume. Pausing a paused
Deployment changes nothing. There is no --wait: a paused Deployment does not roll out.
  --if-match ETAG  only if the Deployment is still at that version (ETag or resourceVersion from get); else exit 3
  --dry-run        let the API server validate and admit the change without making it`,
  resume: `Usage: replica-api resume NAMESPACE/NAME ${WRITE_USAGE}

Resumes a paused Deployment (spec.paused false); a change made while it was paused rolls out now. Resuming one that
is not paused changes nothing.
${WRITE_FLAGS}`,
  undo: `Usage: replica-api undo NAMESPACE/NAME [--to-revision N] ${WRITE_USAGE}

Rolls the pod template back to the previous revision, or to revision N (see history), as kubectl rollout undo does.
A paused Deployment, or one without a previous revision, is refused (exit 3); an unknown revision exits 1 naming the
known ones. Undo to the template in force changes nothing.
  --to-revision N  the revision to go back to (default: the one before the current)
${WRITE_FLAGS}`,
  "set-image": `Usage: replica-api set-image NAMESPACE/NAME CONTAINER=IMAGE ${WRITE_USAGE}

Sets the image of one container (or init container), as kubectl set image does, e.g.
  replica-api set-image demo/web web=registry.internal/app:1.3 --wait
One CONTAINER=IMAGE per run: the API sets one container per request. The image needs a tag or a digest (an untagged
image means :latest, which moves). The API refuses an unknown container (naming the containers) and an image outside
the patterns your policy allows (naming them). The image it already runs changes nothing.
${WRITE_FLAGS}`,
  history: `Usage: replica-api history NAMESPACE/NAME [-o table|json]

Lists the Deployment's revisions, as kubectl rollout history does: REVISION, CURRENT (* for the one in force), IMAGES
(container=image), CHANGE-CAUSE, CREATED and REPLICAS, oldest first; -o json prints the API's answer. undo
--to-revision takes a REVISION from it. Read from the service's cache: it never asks the Kubernetes API server.`,
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
  return `replica-api: list Deployments, scale them and manage their rollouts through the replica-api service (mTLS).

Usage: replica-api COMMAND [flags]

Commands:
  list [-n NAMESPACE]           Deployments as a table (or -o json)
  get NAMESPACE/NAME            one Deployment
  scale NAMESPACE/NAME N        set the replica count [--wait] [--timeout D] [--if-match ETAG] [--dry-run] [--force]
  restart NAMESPACE/NAME        restart every Pod by a rolling update (kubectl rollout restart)
  pause NAMESPACE/NAME          pause its rollouts
  resume NAMESPACE/NAME         resume them
  undo NAMESPACE/NAME           back to the previous revision [--to-revision N]
  history NAMESPACE/NAME        its revisions: images, change-cause, which one is current
  set-image NAMESPACE/NAME C=I  set the image of container C to I
  watch [-n NAMESPACE]          stream changes as they happen
  whoami                        your identity, its expiry, and your permissions per namespace
  config VERB                   named connections (contexts): get-contexts, use-context NAME, set-context NAME, ...
  help [COMMAND]                this text, or a command's

Flags: -h, --help; --version; -o, --output table|json
Every write (scale, restart, pause, resume, undo, set-image) takes --if-match ETAG and --dry-run, and all but pause
take --wait [--timeout D].

${CONNECTION}

${EXIT_CODES}`;
}
