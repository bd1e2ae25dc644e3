// goref: the second reference of `make bench`. It is what a team would otherwise write in Go for
// replica-api's hottest route: net/http over TLS 1.3 with a verified client certificate, and a
// client-go Deployment informer whose cache answers GET
// /api/v1/namespaces/{namespace}/deployments/{name}/replicas with the same JSON shape and the same
// response headers (Content-Type, ETag, Cache-Status, X-Request-Id) as replica-api. Nothing else:
// no authorisation policy, no rate limits, no metrics, no access log. `make bench` reports
// replica-api's ratio to it next to the ratio to the node:https ceiling.
//
// Environment: KUBECONFIG, TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE (required), LISTEN_ADDR
// (default 127.0.0.1:0). Prints {"msg":"listening","api":"host:port"} once the informer has synced.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "goref: %s: %v\n", what, err)
		os.Exit(2)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	if fallback == "" {
		fmt.Fprintf(os.Stderr, "goref: %s is required\n", name)
		os.Exit(2)
	}
	return fallback
}

type replicas struct {
	Namespace         string `json:"namespace"`
	Name              string `json:"name"`
	Replicas          int32  `json:"replicas"`
	ReadyReplicas     int32  `json:"readyReplicas"`
	AvailableReplicas int32  `json:"availableReplicas"`
}

func main() {
	restConfig, err := clientcmd.BuildConfigFromFlags("", env("KUBECONFIG", ""))
	must(err, "kubeconfig")
	clientset, err := kubernetes.NewForConfig(restConfig)
	must(err, "client")
	factory := informers.NewSharedInformerFactory(clientset, 0)
	informer := factory.Apps().V1().Deployments()
	lister := informer.Lister()
	stop := make(chan struct{})
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, informer.Informer().HasSynced) {
		must(fmt.Errorf("cache did not sync"), "informer")
	}

	var requestID atomic.Uint64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/namespaces/{namespace}/deployments/{name}/replicas", func(w http.ResponseWriter, r *http.Request) {
		namespace, name := r.PathValue("namespace"), r.PathValue("name")
		h := w.Header()
		h.Set("X-Request-Id", strconv.FormatUint(requestID.Add(1), 16))
		d, err := lister.Deployments(namespace).Get(name)
		if err != nil {
			h.Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"type":"about:blank","title":"Not Found","status":404,"detail":"deployment %q not found"}`, namespace+"/"+name)
			return
		}
		body, _ := json.Marshal(view(d))
		h.Set("Content-Type", "application/json")
		h.Set("Etag", `"`+d.ResourceVersion+`"`)
		h.Set("Cache-Status", "replica-api; hit; fwd-status=200; detail=informer")
		_, _ = w.Write(body)
	})

	ca := x509.NewCertPool()
	pem, err := os.ReadFile(env("TLS_CLIENT_CA_FILE", ""))
	must(err, "client CA")
	if !ca.AppendCertsFromPEM(pem) {
		must(fmt.Errorf("no certificate in TLS_CLIENT_CA_FILE"), "client CA")
	}
	cert, err := tls.LoadX509KeyPair(env("TLS_CERT_FILE", ""), env("TLS_KEY_FILE", ""))
	must(err, "server certificate")
	ln, err := net.Listen("tcp", env("LISTEN_ADDR", "127.0.0.1:0"))
	must(err, "listen")
	server := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{cert},
			ClientCAs:    ca,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			NextProtos:   []string{"http/1.1"},
		},
	}
	line, _ := json.Marshal(map[string]string{"msg": "listening", "api": ln.Addr().String()})
	fmt.Println(string(line))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		close(stop)
		_ = server.Close()
	}()
	if err := server.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		must(err, "serve")
	}
}

func view(d *appsv1.Deployment) replicas {
	r := replicas{Namespace: d.Namespace, Name: d.Name, ReadyReplicas: d.Status.ReadyReplicas, AvailableReplicas: d.Status.AvailableReplicas}
	if d.Spec.Replicas != nil {
		r.Replicas = *d.Spec.Replicas
	} else {
		r.Replicas = 1
	}
	return r
}

