package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkServe drives a real server on loopback with 16 concurrent
// clients (keep-alive connections), each request certifying one image or
// a batch of 256, and reports requests/s, images/s and the p50/p99
// latency of a request (send to last byte of the answer).
func BenchmarkServe(b *testing.B) {
	f := newFixture(b)
	const clients = 16
	for _, n := range []int{1, 256} {
		b.Run(fmt.Sprintf("images=%d/clients=%d", n, clients), func(b *testing.B) {
			h, err := New(f.c, Options{})
			if err != nil {
				b.Fatal(err)
			}
			_, url := serve(b, h)
			url += "/v1/certify"
			var body []byte
			if n == 1 {
				body, _ = json.Marshal(map[string]any{"pixels": pixels(f.images.Image(0)), "label": f.labels[0]})
			} else {
				batch := make([][]float64, n)
				for i := range batch {
					batch[i] = pixels(f.images.Image(i % f.images.N))
				}
				body, _ = json.Marshal(map[string]any{"batch": batch})
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			defer client.CloseIdleConnections()
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Value
			var wg sync.WaitGroup
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1) - 1)
						if i >= b.N {
							return
						}
						t0 := time.Now()
						resp, err := client.Post(url, "application/json", bytes.NewReader(body))
						if err != nil {
							failed.Store(err.Error())
							return
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK {
							failed.Store(fmt.Sprintf("status %d, %v", resp.StatusCode, err))
							return
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if msg := failed.Load(); msg != nil {
				b.Fatal(msg)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "images/s")
			b.ReportMetric(float64(lat[b.N/2].Microseconds())/1e3, "p50-ms")
			b.ReportMetric(float64(lat[min(b.N-1, b.N*99/100)].Microseconds())/1e3, "p99-ms")
		})
	}
}
