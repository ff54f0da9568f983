// Package service is the HTTP interface of lrrn's certifier, a thin layer
// over verify.Certifier that other programs can embed:
//
//	POST /v1/certify   {"pixels": [d_0 numbers in [0,1]], "label": 3}
//	                   {"batch": [[…], …], "labels": [3, −1, …]}
//	GET  /v1/model     the model, its certified bounds (ρ, its parts) and the SIMD tier
//	GET  /healthz      {"status": "ok"}; 503 {"status": "shutting down"} after SetDraining
//	GET  /metrics      counters and a latency histogram, Prometheus text format
//
// Labels are optional (−1, null or absent: certify the prediction). A
// single input is answered with {"certificate": {…}}, a batch with
// {"certificates": [{…}, …]} in input order (the record format of
// verify.Record). Errors are JSON, {"error": "…", "status": N}, with
// 400 for malformed JSON (or JSON that is not a request: unknown or
// repeated fields, wrong types, more than one value), 404 for an unknown
// path, 405 for a wrong method, 413 for a body or batch over the limits,
// 415 for a body that is not JSON, 422 for well-formed requests with
// wrong content (length, values outside [0,1], labels), and 503 with
// Retry-After when the server is at its limit of concurrent requests.
//
// # Bounded memory and time
//
// A request body is decoded as it streams: the number of inputs, each
// input's length and each value are checked as they arrive, so a request
// holds at most its inputs as float32 (4·MaxBatch·d_0 bytes, 3.2 MB for
// MNIST at the default MaxBatch), never what the body claims, and a body
// that breaks a limit is answered at the byte where it does. At most
// MaxInFlight requests are read and certified at once; up to MaxQueue
// more wait for a slot (holding only their connection, their bodies
// unread) for at most QueueWait; the rest are answered 503 at once. The
// memory a server needs beyond the model is therefore bounded by about
// MaxInFlight × (8·MaxBatch·d_0 + 2 KB·MaxBatch) bytes: pixels (with
// their growth), certificates and the encoded answer (about 1 KB per
// certificate) — 8.5 MB per request for MNIST at the default MaxBatch,
// 34 MB with the default MaxInFlight on 2 cores (measured: 30 MB above
// idle under 64 concurrent 8.8 MB requests), plus a few kilobytes per
// queued or idle connection. Timeouts on the
// connection (read, write, idle) are the http.Server's business; see
// lrrn-verify serve.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lrrn/lrrn/verify"
)

// Options limit what requests may ask for and how many are served at once.
type Options struct {
	// MaxBodyBytes caps a request body; 0 means 16 MiB.
	MaxBodyBytes int64
	// MaxBatch caps the inputs of one request; 0 means 1024.
	MaxBatch int
	// MaxInFlight caps the certify requests being read and certified at
	// once; 0 means 2·GOMAXPROCS, at least 4.
	MaxInFlight int
	// MaxQueue caps the certify requests waiting for a slot; 0 means
	// 16·MaxInFlight. Beyond it requests are answered 503 at once.
	MaxQueue int
	// QueueWait is the longest a request waits for a slot before it is
	// answered 503; 0 means 10 s.
	QueueWait time.Duration
	// Logger, when not nil, receives one line per request (access log):
	// method, path, status, images, bytes of the answer, duration and the
	// client's address.
	Logger *slog.Logger
}

// Handler serves the certifier. It is safe for concurrent use.
type Handler struct {
	c        *verify.Certifier
	opts     Options
	info     []byte // GET /v1/model, encoded once
	mux      *http.ServeMux
	slots    chan struct{} // MaxInFlight tokens
	queued   atomic.Int64
	draining atomic.Bool
	metrics  metrics
}

// New returns the handler for c.
func New(c *verify.Certifier, o Options) (*Handler, error) {
	if o.MaxBodyBytes < 0 || o.MaxBatch < 0 || o.MaxInFlight < 0 || o.MaxQueue < 0 || o.QueueWait < 0 {
		return nil, fmt.Errorf("service: negative limit in %+v", o)
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 1024
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = 16 * o.MaxInFlight
	}
	if o.QueueWait == 0 {
		o.QueueWait = 10 * time.Second
	}
	info, err := json.Marshal(c.Info())
	if err != nil {
		return nil, err
	}
	h := &Handler{c: c, opts: o, info: append(info, '\n'), mux: http.NewServeMux(), slots: make(chan struct{}, o.MaxInFlight)}
	h.mux.HandleFunc("/v1/certify", h.certify)
	h.mux.HandleFunc("/v1/model", h.model)
	h.mux.HandleFunc("/healthz", h.health)
	h.mux.HandleFunc("/metrics", h.serveMetrics)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint %s (try POST /v1/certify, GET /v1/model, GET /healthz, GET /metrics)", r.URL.Path)
	})
	return h, nil
}

// Options returns the options in force (defaults resolved).
func (h *Handler) Options() Options { return h.opts }

// SetDraining makes /healthz answer 503 {"status": "shutting down"}, so
// that load balancers stop sending requests; call it when shutdown begins.
func (h *Handler) SetDraining() { h.draining.Store(true) }

// recorder remembers what the access log and the metrics need.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	images int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	h.mux.ServeHTTP(rec, r)
	d := time.Since(start)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	h.metrics.observe(r.URL.Path, rec.status, d)
	if h.opts.Logger != nil {
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
			slog.Int("images", rec.images), slog.Int64("bytes", rec.bytes),
			slog.Float64("ms", float64(d.Microseconds())/1e3), slog.String("remote", r.RemoteAddr))
	}
}

// admit waits for one of the MaxInFlight slots, answering 503 with
// Retry-After when MaxQueue requests already wait or no slot frees up in
// QueueWait. The body is not read before a slot is held.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release = func() {
		<-h.slots
		h.metrics.inFlight.Add(-1)
	}
	select {
	case h.slots <- struct{}{}:
		h.metrics.inFlight.Add(1)
		return release, true
	default:
	}
	if h.queued.Add(1) > int64(h.opts.MaxQueue) {
		h.queued.Add(-1)
		h.reject(w, "the server is at its limit of %d requests in flight and %d waiting; retry later", h.opts.MaxInFlight, h.opts.MaxQueue)
		return nil, false
	}
	defer h.queued.Add(-1)
	t := time.NewTimer(h.opts.QueueWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		h.metrics.inFlight.Add(1)
		return release, true
	case <-t.C:
		h.reject(w, "no capacity freed up within %v; retry later", h.opts.QueueWait)
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "request abandoned while waiting: %v", context.Cause(r.Context()))
	}
	return nil, false
}

func (h *Handler) reject(w http.ResponseWriter, format string, args ...any) {
	h.metrics.rejected.Add(1)
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Connection", "close") // the body is not read
	writeError(w, http.StatusServiceUnavailable, format, args...)
}

type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Error: fmt.Sprintf(format, args...), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encoding the response: " + err.Error(), Status: status})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s (use %s)", r.Method, r.URL.Path, strings.Join(methods, " or "))
	return false
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) model(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.info)
}

type single struct {
	Certificate verify.Record `json:"certificate"`
}

type batch struct {
	Certificates []verify.Record `json:"certificates"`
}

func (h *Handler) certify(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "content type %q: send application/json, e.g. curl -H 'Content-Type: application/json' -d '{\"pixels\":[…]}' URL", ct)
			return
		}
	}
	release, ok := h.admit(w, r)
	if !ok {
		return
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	m := h.c.Model()
	req, err := newDecoder(r.Body, m.Sizes[0], m.Sizes[m.L()], h.opts.MaxBatch).decode()
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			writeError(w, re.status, "%s", re.msg)
		} else {
			writeError(w, http.StatusBadRequest, "%v", err)
		}
		return
	}
	certs := make([]verify.Certificate, req.n)
	if err := h.c.CertifyBatch(r.Context(), req.x, req.labels, certs); err != nil {
		if errors.Is(err, verify.ErrInput) {
			writeError(w, http.StatusUnprocessableEntity, "%v", err)
		} else {
			// The client went away or the server is stopping.
			writeError(w, http.StatusServiceUnavailable, "certification interrupted: %v", err)
		}
		return
	}
	if rec, ok := w.(*recorder); ok {
		rec.images = req.n
	}
	h.metrics.images.Add(int64(req.n))
	if !req.batch {
		writeJSON(w, http.StatusOK, single{verify.NewRecord(0, certs[0])})
		return
	}
	out := batch{Certificates: make([]verify.Record, len(certs))}
	for i, c := range certs {
		out.Certificates[i] = verify.NewRecord(i, c)
	}
	writeJSON(w, http.StatusOK, out)
}
