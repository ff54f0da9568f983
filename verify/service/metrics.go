package service

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics are served at GET /metrics in the Prometheus text exposition
// format (version 0.0.4), which is what operators scrape. They are written
// here directly, from atomic counters, rather than with the official
// client library (github.com/prometheus/client_golang, which would bring a
// dozen modules, protobuf among them, into every program that embeds this
// package, for seven series) or with expvar (standard library, but its
// JSON at /debug/vars is not what Prometheus scrapes, it has no histogram,
// and its variables are process-global, so two handlers in one process
// would collide).

// latencyBuckets are the upper bounds (seconds) of the latency histogram.
var latencyBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type reqKey struct {
	path string
	code int
}

type metrics struct {
	images   atomic.Int64 // images certified
	inFlight atomic.Int64 // certify requests holding a slot
	rejected atomic.Int64 // certify requests answered 503 for lack of capacity

	mu       sync.Mutex
	requests map[reqKey]int64
	buckets  [len(latencyBuckets)]int64 // not cumulative
	sum      float64
	count    int64
}

// pathLabel bounds the label values to the API's paths.
func pathLabel(p string) string {
	switch p {
	case "/v1/certify", "/v1/model", "/healthz", "/metrics":
		return p
	}
	return "other"
}

func (m *metrics) observe(path string, code int, d time.Duration) {
	path = pathLabel(path)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests = map[reqKey]int64{}
	}
	m.requests[reqKey{path, code}]++
	if path != "/v1/certify" {
		return
	}
	s := d.Seconds()
	for i, b := range latencyBuckets {
		if s <= b {
			m.buckets[i]++
			break
		}
	}
	m.sum += s
	m.count++
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	m := &h.metrics
	family := func(name, typ, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	m.mu.Lock()
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].path != keys[j].path {
			return keys[i].path < keys[j].path
		}
		return keys[i].code < keys[j].code
	})
	family("lrrn_requests_total", "counter", "HTTP requests answered, by path and status code.")
	for _, k := range keys {
		fmt.Fprintf(bw, "lrrn_requests_total{path=%q,code=\"%d\"} %d\n", k.path, k.code, m.requests[k])
	}
	family("lrrn_request_duration_seconds", "histogram", "Time from receiving a POST /v1/certify request to the end of its answer.")
	var cum int64
	for i, b := range latencyBuckets {
		cum += m.buckets[i]
		fmt.Fprintf(bw, "lrrn_request_duration_seconds_bucket{le=\"%s\"} %d\n", strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	fmt.Fprintf(bw, "lrrn_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(bw, "lrrn_request_duration_seconds_sum %s\n", strconv.FormatFloat(m.sum, 'g', -1, 64))
	fmt.Fprintf(bw, "lrrn_request_duration_seconds_count %d\n", m.count)
	m.mu.Unlock()
	family("lrrn_images_certified_total", "counter", "Images certified.")
	fmt.Fprintf(bw, "lrrn_images_certified_total %d\n", m.images.Load())
	family("lrrn_requests_in_flight", "gauge", "POST /v1/certify requests being read or certified.")
	fmt.Fprintf(bw, "lrrn_requests_in_flight %d\n", m.inFlight.Load())
	family("lrrn_requests_queued", "gauge", "POST /v1/certify requests waiting for a slot.")
	fmt.Fprintf(bw, "lrrn_requests_queued %d\n", h.queued.Load())
	family("lrrn_requests_rejected_total", "counter", "POST /v1/certify requests answered 503 because the server was at its limit.")
	fmt.Fprintf(bw, "lrrn_requests_rejected_total %d\n", m.rejected.Load())
}
