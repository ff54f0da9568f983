package dataset

import (
	"archive/zip"
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/dirhash"
)

// A test module, served by a fake proxy: its data/ directory holds the
// MNIST fixture under the four standard names.
const (
	testModule  = "example.com/Data"
	testVersion = "v1.0.0"
	testZipPath = "/example.com/!data/@v/v1.0.0.zip" // escaped, as the go command asks
)

// moduleZip builds the test module's zip and returns it with its h1: hash.
func moduleZip(t *testing.T) ([]byte, string) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.Create(testModule + "@" + testVersion + "/" + name)
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
	}
	add("LICENSE", []byte("test\n"))
	fi, fl := fixture(MNIST)
	for _, s := range []Split{Train, Test} {
		im, lb := Files(s)
		for src, dst := range map[string]string{fi: im, fl: lb} {
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			add("data/"+dst, b)
		}
	}
	require.NoError(t, zw.Close())
	p := filepath.Join(t.TempDir(), "m.zip")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	h, err := dirhash.HashZip(p, dirhash.Hash1)
	require.NoError(t, err)
	return buf.Bytes(), h
}

// proxy is a fake module proxy / file server counting its requests.
type proxy struct {
	*httptest.Server
	requests atomic.Int64
}

func newProxy(t *testing.T, files map[string][]byte, mangle func(w http.ResponseWriter, b []byte) bool) *proxy {
	p := &proxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if mangle != nil && mangle(w, b) {
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	}))
	t.Cleanup(p.Close)
	return p
}

// testFetcher fetches the test module from the proxy list into a fresh
// cache, with no module cache to fall back on.
func testFetcher(t *testing.T, goproxy, hash string) *Fetcher {
	return &Fetcher{CacheDir: t.TempDir(), GOPROXY: goproxy, ModCache: "off", Module: testModule, Version: testVersion, Hash: hash}
}

// requireClean checks that a failed fetch left nothing in the cache.
func requireClean(t *testing.T, cache string) {
	t.Helper()
	ents, err := os.ReadDir(cache)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.Empty(t, names, "the cache keeps nothing of a failed download")
}

func TestFetchModule(t *testing.T) {
	z, h := moduleZip(t)
	p := newProxy(t, map[string][]byte{testZipPath: z}, nil)
	f := testFetcher(t, p.URL, h)
	var prog bytes.Buffer
	f.Progress = &prog
	dir, err := f.Locate("mnist", "")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(f.CacheDir, "mnist"), dir)
	require.Equal(t, int64(1), p.requests.Load())
	require.Contains(t, prog.String(), "downloading example.com/Data@v1.0.0:")
	train, test, err := f.Load("mnist", "")
	require.NoError(t, err)
	checkSet(t, train, fixtureN, "mnist train", fixtureFirst[MNIST])
	checkSet(t, test, fixtureN, "mnist test", nil)
	// only the four data files, no temporary directory
	ents, err := os.ReadDir(f.CacheDir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, files, 4)

	// cache present: no more requests, even with downloads forbidden
	f.GOPROXY, f.Offline = "off", true
	dir2, err := f.Locate("mnist", "")
	require.NoError(t, err)
	require.Equal(t, dir, dir2)
	require.Equal(t, int64(1), p.requests.Load())
}

func TestFetchModuleWrongHash(t *testing.T) {
	z, _ := moduleZip(t)
	p := newProxy(t, map[string][]byte{testZipPath: z}, nil)
	f := testFetcher(t, p.URL, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	_, err := f.Locate("mnist", "")
	require.ErrorIs(t, err, ErrChecksum)
	require.Contains(t, err.Error(), "want h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= (pinned)")
	requireClean(t, f.CacheDir)
}

func TestFetchModuleTruncated(t *testing.T) {
	z, h := moduleZip(t)
	p := newProxy(t, map[string][]byte{testZipPath: z}, func(w http.ResponseWriter, b []byte) bool {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b[:len(b)/2])
		return true // the handler returns: the connection is cut short
	})
	f := testFetcher(t, p.URL, h)
	_, err := f.Locate("mnist", "")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "unexpected EOF")
	requireClean(t, f.CacheDir)
}

func TestFetchModuleProxyList(t *testing.T) {
	z, h := moduleZip(t)
	empty := newProxy(t, nil, nil) // 404 for everything: the next is asked
	good := newProxy(t, map[string][]byte{testZipPath: z}, nil)
	f := testFetcher(t, empty.URL+","+good.URL, h)
	_, err := f.Locate("mnist", "")
	require.NoError(t, err)
	require.Equal(t, int64(1), empty.requests.Load())
	require.Equal(t, int64(1), good.requests.Load())

	// "," moves on after a 404 only; "|" after any error
	broken := newProxy(t, map[string][]byte{testZipPath: z}, func(w http.ResponseWriter, b []byte) bool {
		http.Error(w, "boom", http.StatusInternalServerError)
		return true
	})
	f = testFetcher(t, broken.URL+","+good.URL, h)
	_, err = f.Locate("mnist", "")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "500 Internal Server Error")
	require.Equal(t, int64(1), good.requests.Load())
	f = testFetcher(t, broken.URL+"|"+good.URL, h)
	_, err = f.Locate("mnist", "")
	require.NoError(t, err)
	require.Equal(t, int64(2), good.requests.Load())
}

func TestFetchModuleProxyOff(t *testing.T) {
	z, h := moduleZip(t)
	p := newProxy(t, map[string][]byte{testZipPath: z}, nil)
	for _, list := range []string{"off", "off," + p.URL} {
		f := testFetcher(t, list, h)
		_, err := f.Locate("mnist", "")
		require.ErrorIs(t, err, ErrNotFound)
		require.Contains(t, err.Error(), "GOPROXY=off forbids downloading modules")
		requireClean(t, f.CacheDir)
	}
	// $GOPROXY is read when the Fetcher names none
	t.Setenv("GOPROXY", "off")
	f := testFetcher(t, "", h)
	_, err := f.Locate("mnist", "")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "GOPROXY=off")
	require.Equal(t, int64(0), p.requests.Load())
}

func TestFetchOfflineEnv(t *testing.T) {
	z, h := moduleZip(t)
	p := newProxy(t, map[string][]byte{testZipPath: z}, nil)
	t.Setenv(OfflineEnv, "1")
	f := testFetcher(t, p.URL, h)
	_, err := f.Locate("mnist", "")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "downloads are off (LRRN_OFFLINE=1 or Fetcher.Offline)")
	require.Equal(t, int64(0), p.requests.Load())
}

// TestPinnedModuleHash checks that the pinned h1: hash is go.sum's.
func TestPinnedModuleHash(t *testing.T) {
	b, err := os.ReadFile("../go.sum")
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(b))
	found := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == GoMNISTModule && f[1] == GoMNISTVersion {
			require.Equal(t, GoMNISTHash, f[2])
			found = true
		}
	}
	require.True(t, found, "go.sum has no line for %s %s", GoMNISTModule, GoMNISTVersion)
}

// remoteFiles serves a data set's fixture as its four official files and
// returns the Remotes that name them.
func remoteFiles(t *testing.T, name string) (map[string][]byte, func(base string) []Remote) {
	files := map[string][]byte{}
	sums := map[string]string{}
	fi, fl := fixture(name)
	for _, s := range []Split{Train, Test} {
		im, lb := Files(s)
		for src, dst := range map[string]string{fi: im, fl: lb} {
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			files["/files/"+dst] = b
			sums[dst], err = contentSHA256(src)
			require.NoError(t, err)
		}
	}
	return files, func(base string) []Remote {
		var rs []Remote
		for _, s := range []Split{Train, Test} {
			im, lb := Files(s)
			for _, n := range []string{im, lb} {
				rs = append(rs, Remote{Name: n, URL: base + "/files/" + n, SHA256: sums[n]})
			}
		}
		return rs
	}
}

func TestFetchRemotes(t *testing.T) {
	files, remotes := remoteFiles(t, KMNIST)
	p := newProxy(t, files, nil)
	f := &Fetcher{CacheDir: t.TempDir(), Remotes: map[string][]Remote{KMNIST: remotes(p.URL)}}
	var prog bytes.Buffer
	f.Progress = &prog
	train, test, err := f.Load("kmnist", "")
	require.NoError(t, err)
	checkSet(t, train, fixtureN, "kmnist train", fixtureFirst[KMNIST])
	checkSet(t, test, fixtureN, "kmnist test", nil)
	require.Equal(t, int64(4), p.requests.Load())
	require.Contains(t, prog.String(), "downloading kmnist t10k-images-idx3-ubyte.gz: 0.2 of 0.2 MB")
	_, err = f.Locate("kmnist", "") // cached
	require.NoError(t, err)
	require.Equal(t, int64(4), p.requests.Load())

	// a file whose content is not the pinned one
	rs := remotes(p.URL)
	rs[3].SHA256 = strings.Repeat("0", 64)
	f = &Fetcher{CacheDir: t.TempDir(), Remotes: map[string][]Remote{KMNIST: rs}}
	_, err = f.Locate("kmnist", "")
	require.ErrorIs(t, err, ErrChecksum)
	require.Contains(t, err.Error(), "t10k-labels-idx1-ubyte.gz (from "+p.URL+"/files/t10k-labels-idx1-ubyte.gz): content SHA-256 ")
	requireClean(t, f.CacheDir)

	// a missing file
	rs = remotes(p.URL)
	rs[2].URL += ".absent"
	f = &Fetcher{CacheDir: t.TempDir(), Remotes: map[string][]Remote{KMNIST: rs}}
	_, err = f.Locate("kmnist", "")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "404 Not Found")
	require.Contains(t, err.Error(), "https://github.com/rois-codh/kmnist")
	requireClean(t, f.CacheDir)
}

// TestFetchConcurrent runs two processes that fetch the same module into
// the same empty cache at the same time (the proxy answers only when both
// have asked): both succeed and the cache holds one verified copy.
func TestFetchConcurrent(t *testing.T) {
	if os.Getenv("LRRN_TEST_FETCH_CHILD") != "" {
		return
	}
	z, h := moduleZip(t)
	var mu sync.Mutex
	arrived := 0
	both := make(chan struct{})
	p := newProxy(t, map[string][]byte{testZipPath: z}, func(w http.ResponseWriter, b []byte) bool {
		mu.Lock()
		if arrived++; arrived == 2 {
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
		case <-time.After(30 * time.Second):
		}
		return false
	})
	cache := t.TempDir()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFetchConcurrentChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "LRRN_TEST_FETCH_CHILD="+cache, "LRRN_TEST_FETCH_PROXY="+p.URL, "LRRN_TEST_FETCH_HASH="+h)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), outs[i].String())
		require.Contains(t, outs[i].String(), "fetched into "+filepath.Join(cache, "mnist"))
	}
	select {
	case <-both:
	default:
		t.Fatal("the two processes did not download at the same time")
	}
	require.Equal(t, int64(2), p.requests.Load())
	ents, err := os.ReadDir(cache)
	require.NoError(t, err)
	require.Len(t, ents, 1, "one directory, no temporary left")
	fi, fl := fixture(MNIST)
	im, lb := Files(Test)
	require.Equal(t, fileSHA256(t, fi), fileSHA256(t, filepath.Join(cache, "mnist", im)))
	require.Equal(t, fileSHA256(t, fl), fileSHA256(t, filepath.Join(cache, "mnist", lb)))
}

// TestFetchConcurrentChild is one process of TestFetchConcurrent.
func TestFetchConcurrentChild(t *testing.T) {
	cache := os.Getenv("LRRN_TEST_FETCH_CHILD")
	if cache == "" {
		t.Skip("run by TestFetchConcurrent")
	}
	f := &Fetcher{CacheDir: cache, GOPROXY: os.Getenv("LRRN_TEST_FETCH_PROXY"), ModCache: "off",
		Module: testModule, Version: testVersion, Hash: os.Getenv("LRRN_TEST_FETCH_HASH")}
	dir, err := f.Locate("mnist", "")
	require.NoError(t, err)
	_, _, err = f.Load("mnist", "")
	require.NoError(t, err)
	t.Logf("fetched into %s", dir)
}

// TestFetchIncompleteCache: a cache directory that lacks files (a copy
// damaged by hand) is not taken, and the error says what to do.
func TestFetchIncompleteCache(t *testing.T) {
	z, h := moduleZip(t)
	p := newProxy(t, map[string][]byte{testZipPath: z}, nil)
	f := testFetcher(t, p.URL, h)
	bad := filepath.Join(f.CacheDir, "mnist")
	require.NoError(t, os.MkdirAll(bad, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "train-images-idx3-ubyte.gz"), []byte("x"), 0o644))
	_, err := f.Locate("mnist", "")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "holds an incomplete copy: remove it and try again")
	require.NoError(t, os.RemoveAll(bad))
	_, err = f.Locate("mnist", "")
	require.NoError(t, err)
}
