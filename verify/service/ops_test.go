package service

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdmission: with one slot and one place in the queue, a request whose
// body stalls holds the slot, the next waits, and the third is answered
// 503 with Retry-After at once, its body unread; when the slot frees, the
// waiting one is served.
func TestAdmission(t *testing.T) {
	f := newFixture(t)
	h, err := New(f.c, Options{MaxInFlight: 1, MaxQueue: 1})
	require.NoError(t, err)
	_, url := serve(t, h)
	one, err := json.Marshal(map[string]any{"pixels": pixels(f.images.Image(0))})
	require.NoError(t, err)

	pr, pw := io.Pipe()
	first := make(chan int)
	go func() {
		resp, err := http.Post(url+"/v1/certify", "application/json", pr)
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	pw.Write(one[:10]) // the slot is taken, the body incomplete
	require.Eventually(t, func() bool { return h.metrics.inFlight.Load() == 1 }, 5*time.Second, time.Millisecond)

	second := make(chan int)
	go func() {
		resp, err := http.Post(url+"/v1/certify", "application/json", bytes.NewReader(one))
		if err != nil {
			second <- -1
			return
		}
		resp.Body.Close()
		second <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return h.queued.Load() == 1 }, 5*time.Second, time.Millisecond)

	resp, err := http.Post(url+"/v1/certify", "application/json", bytes.NewReader(one))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "limit of 1 requests in flight and 1 waiting")

	pw.Write(one[10:])
	pw.Close()
	assert.Equal(t, http.StatusOK, <-first)
	assert.Equal(t, http.StatusOK, <-second)
	assert.Equal(t, int64(1), h.metrics.rejected.Load())
	assert.Equal(t, int64(0), h.metrics.inFlight.Load())
}

// TestMetricsAndAccessLog: /metrics is Prometheus text (every sample
// after its family's HELP and TYPE, histogram buckets cumulative and
// ending at +Inf = count), counting what was served; the access log has
// one line per request with its status and images.
func TestMetricsAndAccessLog(t *testing.T) {
	f := newFixture(t)
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logBuf.Write(p)
	}), nil))
	h, err := New(f.c, Options{Logger: logger})
	require.NoError(t, err)
	_, url := serve(t, h)
	client := &http.Client{}
	b3, _ := json.Marshal(map[string]any{"batch": [][]float64{pixels(f.images.Image(0)), pixels(f.images.Image(1)), pixels(f.images.Image(2))}})
	for _, body := range []string{string(b3), `{"pixels": [2]}`, `{}`} {
		resp, err := client.Post(url+"/v1/certify", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, err := client.Get(url + "/nowhere/" + strings.Repeat("x", 100))
	require.NoError(t, err)
	resp.Body.Close()

	resp, err = client.Get(url + "/metrics")
	require.NoError(t, err)
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	family := ""
	sample := regexp.MustCompile(`^([a-z_]+)(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+$`)
	for i, l := range lines {
		if strings.HasPrefix(l, "# HELP ") {
			family = strings.Fields(l)[2]
			require.True(t, strings.HasPrefix(lines[i+1], "# TYPE "+family+" "), l)
			continue
		}
		if strings.HasPrefix(l, "# TYPE ") {
			continue
		}
		m := sample.FindStringSubmatch(l)
		require.NotNil(t, m, "not a sample line: %q", l)
		require.True(t, strings.HasPrefix(m[1], family), "%q outside its family %s", l, family)
	}
	for _, want := range []string{
		`lrrn_requests_total{path="/v1/certify",code="200"} 1`,
		`lrrn_requests_total{path="/v1/certify",code="422"} 2`,
		`lrrn_requests_total{path="other",code="404"} 1`,
		`lrrn_request_duration_seconds_bucket{le="+Inf"} 3`,
		`lrrn_request_duration_seconds_count 3`,
		`lrrn_images_certified_total 3`,
		`lrrn_requests_in_flight 0`,
		`lrrn_requests_rejected_total 0`,
	} {
		assert.Contains(t, lines, want)
	}

	mu.Lock()
	defer mu.Unlock()
	logLines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	require.Len(t, logLines, 5) // 3 certify, 404, metrics
	var first struct {
		Msg, Method, Path string
		Status, Images    int
		Ms                float64
	}
	require.NoError(t, json.Unmarshal([]byte(logLines[0]), &first))
	assert.Equal(t, "request", first.Msg)
	assert.Equal(t, "POST", first.Method)
	assert.Equal(t, "/v1/certify", first.Path)
	assert.Equal(t, 200, first.Status)
	assert.Equal(t, 3, first.Images)
	assert.Positive(t, first.Ms)
	assert.Contains(t, logLines[1], `"status":422`)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestHealthWhileDraining: /healthz turns 503 once shutdown begins, while
// the other endpoints keep answering.
func TestHealthWhileDraining(t *testing.T) {
	f := newFixture(t)
	h, err := New(f.c, Options{})
	require.NoError(t, err)
	_, url := serve(t, h)
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	h.SetDraining()
	code, body = get("/healthz")
	assert.Equal(t, 503, code)
	assert.JSONEq(t, `{"status":"shutting down"}`, body)
	code, _ = get("/v1/model")
	assert.Equal(t, 200, code)
}
