package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	be "encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gzIDX writes a gzip IDX file of the given dimensions whose data are
// zeros (compressed a hundredfold or more, so a small file can claim a lot).
func gzIDX(t *testing.T, name string, dims ...uint32) string {
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	require.NoError(t, err)
	hdr := []byte{0, 0, 8, byte(len(dims))}
	n := int64(1)
	for _, d := range dims {
		hdr = be.BigEndian.AppendUint32(hdr, d)
		n *= int64(d)
	}
	// A multi-member gzip file (as `cat a.gz b.gz` makes): the header, then
	// one compressed MiB of zeros written as often as needed and the rest,
	// so that hundreds of MB of data cost a few ms to write.
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		require.NoError(t, err)
		_, err = zw.Write(b)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	_, err = f.Write(member(hdr))
	require.NoError(t, err)
	zero := make([]byte, 1<<20)
	block := member(zero)
	for ; n >= int64(len(zero)); n -= int64(len(zero)) {
		_, err = f.Write(block)
		require.NoError(t, err)
	}
	if n > 0 {
		_, err = f.Write(member(zero[:n]))
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	return p
}

// runRSS runs the binary and returns its result and peak RSS in bytes.
func runRSS(t *testing.T, args ...string) (result, int64) {
	t.Helper()
	r, ps := runBinState(t, args...)
	return r, ps.SysUsage().(*syscall.Rusage).Maxrss * 1024
}

// TestInputSizesCheckedFromHeaders: sizes are checked against the model
// and against each other from the headers, before any data are read, and
// --limit N reads N images: a file of 200,000 images (627 MB as float32,
// which the whole-file reader used to hold) costs nothing it does not use.
func TestInputSizesCheckedFromHeaders(t *testing.T) {
	images := gzIDX(t, "images.gz", 200_000, 28, 28)
	labels := gzIDX(t, "labels.gz", 200_000)
	manyLabels := gzIDX(t, "labels-many.gz", 100_000_000)
	const small = 100 << 20

	r, rss := runRSS(t, "--quiet", "--limit", "5", "--labels", labels, modelPath, images)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "of 5;")
	assert.Less(t, rss, int64(small), "peak RSS with --limit 5")

	r, rss = runRSS(t, tinyModel, images)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "lrrn-verify: images: "+images+" holds 28×28 images (784 pixels), but the model "+tinyModel+" takes 5 inputs\n", r.stderr)
	assert.Less(t, rss, int64(small), "peak RSS rejecting the image size")

	r, rss = runRSS(t, "--labels", manyLabels, modelPath, imagesPath)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "lrrn-verify: labels: "+manyLabels+" has 100000000 labels, but "+imagesPath+" has 500 images\n", r.stderr)
	assert.Less(t, rss, int64(small), "peak RSS rejecting the label count")
	assert.Empty(t, r.stdout)
}

// TestInterruptWhileReading: SIGINT or SIGTERM while the images are being
// read — from a FIFO nobody writes to, or a long gzip file — ends the
// command within a second: exit 130, one line.
func TestInterruptWhileReading(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	long := gzIDX(t, "long.gz", 1_000_000, 28, 28)
	for _, tc := range []struct {
		name   string
		images string
		sig    syscall.Signal
	}{
		{"fifo SIGINT", fifo, syscall.SIGINT},
		{"fifo SIGTERM", fifo, syscall.SIGTERM},
		{"gzip SIGINT", long, syscall.SIGINT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), "--quiet", modelPath, tc.images)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			require.NoError(t, cmd.Start())
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			require.NoError(t, cmd.Process.Signal(tc.sig))
			err := cmd.Wait()
			took := time.Since(sent)
			ee, ok := err.(*exec.ExitError)
			require.True(t, ok, "exit: %v, stderr %q", err, errb.String())
			assert.Equal(t, 130, ee.ExitCode())
			assert.Equal(t, "lrrn-verify: interrupted\n", errb.String())
			assert.Less(t, took, time.Second)
			if tc.images == fifo {
				assert.Empty(t, out.String())
			}
		})
	}
}

// server is a running "lrrn-verify serve".
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	mu     *sync.Mutex
	done   chan struct{} // stderr closed
}

func startServe(t *testing.T, args ...string) *server {
	cmd := exec.Command(binary(t), append([]string{"serve", "--model", modelPath, "--addr", "127.0.0.1:0"}, args...)...)
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(pipe)
	require.True(t, sc.Scan(), "no startup line")
	m := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(sc.Text())
	require.NotNil(t, m, sc.Text())
	s := &server{cmd: cmd, url: m[1], stderr: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	go func() {
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
		close(s.done)
	}()
	return s
}

// status returns a field of /proc/PID/status in bytes (VmHWM: peak RSS).
func procStatus(t *testing.T, pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^` + key + `:\s+(\d+) kB`).FindSubmatch(b)
	require.NotNil(t, m, key)
	v, err := strconv.ParseInt(string(m[1]), 10, 64)
	require.NoError(t, err)
	return v << 10
}

// maxBatchBody is a batch of n valid 784-pixel inputs with 8 digits each.
func maxBatchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for p := 0; p < 784; p++ {
			if p > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.8f", float64((i*784+p)%1000)/1000)
		}
		b.WriteByte(']')
	}
	b.WriteString("]}")
	return b.Bytes()
}

// TestServeMemoryUnderLargeBodies drives the server with 32 concurrent
// 16 MiB bodies of the kind ({"batch":[[],[],…]}: 5.6 million
// inputs claimed) and 32 concurrent requests of 1024 valid inputs (8.8 MB
// each), and checks its peak RSS stays under the documented ceiling:
// base + max-inflight × 8·max-batch·d_0 bytes (4 × 6.4 MB here), with
// room for the runtime. Before the body was streamed, 16 of the first
// kind took it from 12 MB to 6.6 GB (and 64 got it killed for lack of
// memory); 16 of the second, to 440 MB.
func TestServeMemoryUnderLargeBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 64 large requests")
	}
	s := startServe(t, "--max-inflight", "4", "--max-queue", "16", "--quiet")
	pid := s.cmd.Process.Pid
	base := procStatus(t, pid, "VmRSS")
	var junk bytes.Buffer
	junk.WriteString(`{"batch":[`)
	for junk.Len() < 16<<20-16 {
		junk.WriteString("[],")
	}
	junk.WriteString("[]]}")
	valid := maxBatchBody(1024)
	codes := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64}}
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, kind := junk.Bytes(), "junk"
			if i%2 == 1 {
				body, kind = valid, "valid"
			}
			resp, err := client.Post(s.url+"/v1/certify", "application/json", bytes.NewReader(body))
			code := -1
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
				if code == http.StatusServiceUnavailable {
					assert.Equal(t, "1", resp.Header.Get("Retry-After"))
				}
			}
			mu.Lock()
			codes[fmt.Sprint(kind, " ", code)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	peak := procStatus(t, pid, "VmHWM")
	t.Logf("answers %v; RSS %d MB idle, peak %d MB", codes, base>>20, peak>>20)
	assert.Equal(t, 32, codes["junk 422"]+codes["junk 503"], "every junk body is rejected at its first input, or told to retry")
	assert.Equal(t, 32, codes["valid 200"]+codes["valid 503"], "valid requests are answered or told to retry")
	assert.Positive(t, codes["valid 200"])
	assert.Positive(t, codes["junk 422"])
	const ceiling = 4 * 8 * 1024 * 784
	assert.Less(t, peak, base+ceiling+64<<20, "peak RSS")
}

// stuckClient pipelines GET /v1/model requests (small requests, answers
// of a few kilobytes) on one connection and never reads: the answers fill
// the socket buffers and the server's handler blocks writing. It returns
// once the server has stopped reading (the client's writes have not
// progressed for half a second), and a channel that receives the error
// that ends the client's writes (the server closing the connection).
func stuckClient(t *testing.T, url string) <-chan error {
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		req := []byte(strings.Repeat("GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n", 64))
		for {
			n, err := conn.Write(req)
			written.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
	}()
	last, since := int64(-1), time.Now()
	for time.Since(since) < 500*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
		if w := written.Load(); w != last {
			last, since = w, time.Now()
		}
	}
	require.Positive(t, last)
	return done
}

// TestServeShutdownWithStuckClient: a client pipelines requests and never
// reads the answers. SIGTERM ends the server within --shutdown-timeout
// (plus a little), exit 0, after closing the connection it could not
// finish (before, it waited the full timeout and exited 1 with "context
// deadline exceeded"); and --write-timeout cuts such a client off by
// itself (before, nothing did).
func TestServeShutdownWithStuckClient(t *testing.T) {
	t.Run("shutdown", func(t *testing.T) {
		s := startServe(t, "--shutdown-timeout", "2s", "--quiet")
		stuckClient(t, s.url)
		sent := time.Now()
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
		<-s.done // stderr read to its end first: Wait closes the pipe
		require.NoError(t, s.cmd.Wait(), "exit status")
		took := time.Since(sent)
		assert.Greater(t, took, 2*time.Second, "the requests in flight had their time")
		assert.Less(t, took, 4*time.Second)
		s.mu.Lock()
		defer s.mu.Unlock()
		assert.Contains(t, s.stderr.String(), "closed the connections still busy after 2s")
		assert.Contains(t, s.stderr.String(), "lrrn-verify: stopped")
	})
	t.Run("write timeout", func(t *testing.T) {
		s := startServe(t, "--write-timeout", "1s", "--quiet")
		done := stuckClient(t, s.url)
		select {
		case err := <-done:
			assert.Error(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the server kept the connection of a client that does not read")
		}
	})
}
