/**
 * Talking to the Kubernetes API server on Deno's fetch: kubeconfig and credentials, one request and one watch
 * primitive, paged lists, the resource paths, and the typed error every failed call becomes.
 * @module
 */
export { createDenoWatch, type FetchCredentials, http1Client } from "./deno_watch.ts";
export { fetchCredentialsFrom, type KubeconfigLike } from "./fetch_credentials.ts";
export { KubeApiError, type KubeApiErrorKind } from "./kube_api_error.ts";
export { createKubeRequester } from "./kube_requests.ts";
export { type Kubeconfig, loadKubeconfig } from "./kubeconfig.ts";
export { listAllPages, type ListPage, type ListResult, type PagedList } from "./list_pager.ts";
export {
  autoscalersPath,
  deploymentPath,
  deploymentScalePath,
  deploymentsPath,
  eventsPath,
  NAMESPACES_PATH,
  replicaSetPath,
  replicaSetsPath,
} from "./resources.ts";
export type { WatchLike } from "./watch.ts";
