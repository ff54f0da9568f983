package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fixture struct {
	c      *verify.Certifier
	images *idx.Images
	labels []int
}

func newFixture(t testing.TB) *fixture {
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10-10ep.lrrn")
	require.NoError(t, err)
	c, err := verify.New(m, verify.Options{})
	require.NoError(t, err)
	im, err := idx.ReadImages("../../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	lb, err := idx.ReadLabels("../../testdata/mnist-t500-labels-idx1-ubyte.gz")
	require.NoError(t, err)
	labels := make([]int, len(lb))
	for i, l := range lb {
		labels[i] = int(l)
	}
	return &fixture{c: c, images: im, labels: labels}
}

// serve starts a real HTTP server on 127.0.0.1:0 and returns its base URL.
func serve(t testing.TB, h http.Handler) (*http.Server, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return srv, "http://" + l.Addr().String()
}

func pixels(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func post(t *testing.T, client *http.Client, url string, body any) (int, []byte) {
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(t, err)
	}
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func TestCertifyMatchesLibrary(t *testing.T) {
	f := newFixture(t)
	h, err := New(f.c, Options{})
	require.NoError(t, err)
	_, url := serve(t, h)
	client := &http.Client{}

	// 2,000 requests from 8 goroutines (400 with -short): singles (with and
	// without label) and batches of 1 … 5, each compared with the
	// library's result.
	perG := 250
	if testing.Short() {
		perG = 50
	}
	var wg sync.WaitGroup
	var count atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < perG; r++ {
				i := (g*perG + r) % f.images.N
				if r%2 == 0 {
					label := f.labels[i]
					req := map[string]any{"pixels": pixels(f.images.Image(i))}
					if r%4 == 0 {
						req["label"] = label
					} else {
						label = -1
					}
					status, body := post(t, client, url+"/v1/certify", req)
					if !assert.Equal(t, http.StatusOK, status, string(body)) {
						return
					}
					var got single
					require.NoError(t, json.Unmarshal(body, &got))
					want, err := f.c.Certify(f.images.Image(i), label)
					require.NoError(t, err)
					assert.Equal(t, verify.NewRecord(0, want), got.Certificate)
				} else {
					k := 1 + r%5
					i = min(i, f.images.N-k)
					var b [][]float64
					for j := 0; j < k; j++ {
						b = append(b, pixels(f.images.Image(i+j)))
					}
					status, body := post(t, client, url+"/v1/certify", map[string]any{"batch": b, "labels": f.labels[i : i+k]})
					if !assert.Equal(t, http.StatusOK, status, string(body)) {
						return
					}
					var got batch
					require.NoError(t, json.Unmarshal(body, &got))
					want := make([]verify.Certificate, k)
					require.NoError(t, f.c.CertifyBatch(context.Background(), f.images.Pixels[i*784:(i+k)*784], f.labels[i:i+k], want))
					require.Len(t, got.Certificates, k)
					for j := range want {
						assert.Equal(t, verify.NewRecord(j, want[j]), got.Certificates[j])
					}
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(8*perG), count.Load())
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	h, err := New(f.c, Options{MaxBodyBytes: 64 << 10, MaxBatch: 4})
	require.NoError(t, err)
	_, url := serve(t, h)
	client := &http.Client{}
	img := pixels(f.images.Image(0))
	five := [][]float64{img, img, img, img, img}
	var huge bytes.Buffer
	huge.WriteString(`{"pixels":`)
	for huge.Len() < 100<<10 {
		huge.WriteString("        ")
	}
	huge.WriteString("[0]}")
	one, err := json.Marshal(map[string]any{"pixels": img})
	require.NoError(t, err)
	imgJSON, err := json.Marshal(img)
	require.NoError(t, err)
	long := strings.Replace(string(imgJSON), "[", "[0.5,", 1)
	cases := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"malformed JSON", `{"pixels": [0.1, 0.2`, 400, "ends early"},
		{"not JSON", `pixels=1`, 400, "malformed JSON"},
		{"empty body", ``, 400, "empty body"},
		{"wrong type", `{"pixels": "abc"}`, 400, "pixels"},
		{"unknown field", `{"pixel": [0.1]}`, 400, "unknown field"},
		{"two values", string(one) + string(one), 400, "malformed JSON at byte " + fmt.Sprint(len(one)) + ": more than one JSON value in the body"},
		{"two values, space", string(one) + " {}", 400, "more than one JSON value"},
		{"trailing garbage", string(one) + " x", 400, `'x' after the object`},
		{"oversize body", huge.Bytes(), 413, "request body exceeds the limit of 65536 bytes"},
		{"batch over limit", map[string]any{"batch": five}, 413, "batch of more than 4 inputs exceeds the limit of 4"},
		{"labels over limit", `{"labels": [1,2,3,4,5]}`, 413, "more than 4 labels"},
		{"too long, fails early", `{"pixels": ` + long + `}`, 422, "input 0 has more than 784 pixels, the model takes 784"},
		{"repeated field", `{"label": 1, "label": 2}`, 400, `field "label" appears twice`},
		{"field case", `{"Pixels": [0.5]}`, 400, `unknown field "Pixels"`},
		{"wrong type in batch", `{"batch": [[0.5], "x"]}`, 422, "input 0 has 1 pixels"},
		{"string in batch", `{"batch": ["x"]}`, 400, `"batch" input 0 must be an array of 784 numbers, found a string`},
		{"label not integer", `{"label": 1.5}`, 400, "the label of input 0 must be an integer, found 1.5"},
		{"label huge", `{"label": 99999999999999999999999}`, 422, "label 99999999999999999999999 of input 0 is outside 0 … 9"},
		{"bad number", `{"pixels": [01]}`, 400, "malformed JSON at byte 12: invalid number"},
		{"not an object", `[1]`, 400, "the body must be a JSON object, found an array"},
		{"pixel NaN-like", `{"pixels": [1e999]}`, 422, "input 0 pixel 0 is 1e999"},
		{"wrong length", map[string]any{"pixels": img[:783]}, 422, "783 pixels, the model takes 784"},
		{"wrong length in batch", map[string]any{"batch": [][]float64{img, img[:10]}}, 422, "input 1 has 10 pixels"},
		{"pixel above 1", map[string]any{"pixels": append(append([]float64(nil), img[:783]...), 1.5)}, 422, "pixel 783 is 1.5"},
		{"negative pixel", map[string]any{"pixels": append([]float64{-0.1}, img[1:]...)}, 422, "pixel 0 is -0.1"},
		{"label out of range", map[string]any{"pixels": img, "label": 10}, 422, "label 10"},
		{"labels count", map[string]any{"batch": [][]float64{img, img}, "labels": []int{1}}, 422, "1 labels for 2 inputs"},
		{"both", map[string]any{"batch": [][]float64{img}, "pixels": img}, 422, "not both"},
		{"neither", map[string]any{}, 422, "needs"},
		{"empty batch", map[string]any{"batch": [][]float64{}}, 422, "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, client, url+"/v1/certify", tc.body)
			assert.Equal(t, tc.status, status, string(body))
			var e errorBody
			require.NoError(t, json.Unmarshal(body, &e), string(body))
			assert.Equal(t, tc.status, e.Status)
			assert.Contains(t, e.Error, tc.msg)
		})
	}
	// Method, content type, path.
	resp, err := client.Get(url + "/v1/certify")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
	resp, err = client.Post(url+"/v1/model", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	// curl -d sends application/x-www-form-urlencoded: the answer shows
	// the request that works
	resp, err = client.Post(url+"/v1/certify", "application/x-www-form-urlencoded", strings.NewReader(`{"pixels":[]}`))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	assert.Contains(t, string(body), `curl -H 'Content-Type: application/json' -d '{\"pixels\":[…]}' URL`)
	resp, err = client.Get(url + "/nope")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestModelAndHealth(t *testing.T) {
	f := newFixture(t)
	h, err := New(f.c, Options{})
	require.NoError(t, err)
	_, url := serve(t, h)
	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, string(body))
	resp, err = http.Get(url + "/v1/model")
	require.NoError(t, err)
	var info verify.ModelInfo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	resp.Body.Close()
	b := f.c.Bounds()
	assert.Equal(t, []int{784, 64, 64, 10}, info.Sizes)
	require.NotNil(t, info.Rho)
	assert.Equal(t, b.Rho, *info.Rho)
	assert.Equal(t, b.RhoEstimate, *info.RhoEstimate)
	assert.NotEmpty(t, info.SIMD)
	assert.Len(t, info.Layers, 3)
}

// TestShutdownWhileBusy: every request that reached the handler before or
// while Shutdown ran is answered completely; the others fail at the
// connection (refused, or reset while still in the kernel's accept queue
// when the listener closed) without any response, never half-answered.
func TestShutdownWhileBusy(t *testing.T) {
	f := newFixture(t)
	h, err := New(f.c, Options{})
	require.NoError(t, err)
	var handled atomic.Int64
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		h.ServeHTTP(w, r)
	})
	srv, url := serve(t, counting)
	var b [][]float64
	for j := 0; j < 200; j++ {
		b = append(b, pixels(f.images.Image(j)))
	}
	reqBody, err := json.Marshal(map[string]any{"batch": b})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{}, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 6; r++ {
				started <- struct{}{}
				resp, err := client.Post(url+"/v1/certify", "application/json", bytes.NewReader(reqBody))
				if err != nil {
					// No response at all: the connection was refused or reset
					// before the server accepted it. That the request never
					// reached the handler is checked below.
					refused.Add(1)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !assert.NoError(t, err, "response cut short") || !assert.Equal(t, http.StatusOK, resp.StatusCode, string(body)) {
					return
				}
				var got batch
				if assert.NoError(t, json.Unmarshal(body, &got)) {
					assert.Len(t, got.Certificates, 200)
				}
				ok.Add(1)
			}
		}()
	}
	for i := 0; i < 10; i++ { // let some requests start
		<-started
	}
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	go func() {
		for range started {
		}
	}()
	wg.Wait()
	close(started)
	t.Logf("%d requests answered, %d refused after shutdown", ok.Load(), refused.Load())
	assert.Positive(t, ok.Load())
	assert.Equal(t, handled.Load(), ok.Load(), "requests that reached the handler but were not answered")
	assert.Equal(t, int64(48), ok.Load()+refused.Load())
}
