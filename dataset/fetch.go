package dataset

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

// ErrChecksum is matched (errors.Is) by the error of a download whose
// content is not what was pinned; nothing of it is kept.
var ErrChecksum = errors.New("checksum mismatch")

// CacheEnv names the environment variable that overrides the data cache
// directory (default: lrrn/ in os.UserCacheDir()).
const CacheEnv = "LRRN_CACHE"

// OfflineEnv names the environment variable that, set to 1, forbids
// downloads (as GOPROXY=off does for MNIST): only installed or cached
// files are used.
const OfflineEnv = "LRRN_OFFLINE"

// A Remote is one official file of a data set: where it is published and
// the SHA-256 of its decompressed content (the IDX bytes). The content
// rather than the gzip file is pinned because repackagers (Debian) rewrite
// gzip headers; the IDX bytes are what the data set is.
type Remote struct {
	Name, URL string
	SHA256    string // hex, of the decompressed content
}

// Remotes lists the official files of Fashion-MNIST and KMNIST (MNIST
// comes from the Go module proxy instead). The KMNIST sums were computed
// from the official files, whose MD5s match the authors' list; the
// Fashion-MNIST sums from the Debian package's files, whose decompressed
// content is the official one.
var Remotes = map[string][]Remote{
	Fashion: {
		{"train-images-idx3-ubyte.gz", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
		{"train-labels-idx1-ubyte.gz", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
		{"t10k-images-idx3-ubyte.gz", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
		{"t10k-labels-idx1-ubyte.gz", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
	},
	KMNIST: {
		{"train-images-idx3-ubyte.gz", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/train-images-idx3-ubyte.gz", "7112ba9ec422d98de4885262d4a4dff14cc4fefb81c11ace8bf563a8255df5c3"},
		{"train-labels-idx1-ubyte.gz", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/train-labels-idx1-ubyte.gz", "2a16eeae62da984b8bd24fa32e31d47291f01dac3fe84d5594f304f71e7d374b"},
		{"t10k-images-idx3-ubyte.gz", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/t10k-images-idx3-ubyte.gz", "76fbd229ce87db80dd281af5e6670de4ad0e42fb30a7bd643972994c47c1f42e"},
		{"t10k-labels-idx1-ubyte.gz", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/t10k-labels-idx1-ubyte.gz", "a11dc742be8e781a40a92f53d6a4957e7b7d36df2faa097659131ebfd8fd60c6"},
	},
}

// A Fetcher finds data sets and downloads the missing ones into its cache.
// The zero value is ready to use and reads its settings from the
// environment when it runs.
type Fetcher struct {
	// CacheDir holds one directory per data set; "" means $LRRN_CACHE,
	// else lrrn/ in os.UserCacheDir().
	CacheDir string
	// GOPROXY is the module proxy list, as the go command's GOPROXY; ""
	// means $GOPROXY, else "https://proxy.golang.org,direct".
	GOPROXY string
	// ModCache is the Go module cache to look in before downloading
	// MNIST; "" means $GOMODCACHE, else $GOPATH/pkg/mod, else
	// ~/go/pkg/mod. "off" skips it.
	ModCache string
	// Offline forbids downloads (also $LRRN_OFFLINE=1).
	Offline bool
	// Progress, if not nil, receives byte progress of downloads, one
	// carriage-return-updated line per file (meant for a terminal).
	Progress io.Writer
	// Client makes the requests; nil means a client with the environment's
	// HTTP proxy and a 60 s limit on connecting and on the response header.
	Client *http.Client
	// Module, Version and Hash name the MNIST module; "" means GoMNIST's.
	Module, Version, Hash string
	// Remotes replaces the package's Remotes when not nil.
	Remotes map[string][]Remote
}

// Default is the Fetcher of the package-level functions Locate, Load and
// LoadSplit. Commands may set its Progress.
var Default = &Fetcher{}

// DefaultCacheDir returns the data cache directory of the zero Fetcher.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("dataset: no cache directory (%v); set %s", err, CacheEnv)
	}
	return filepath.Join(d, "lrrn"), nil
}

func (f *Fetcher) cacheDir() (string, error) {
	if f.CacheDir != "" {
		return f.CacheDir, nil
	}
	return DefaultCacheDir()
}

func (f *Fetcher) offline() bool { return f.Offline || os.Getenv(OfflineEnv) == "1" }

func (f *Fetcher) module() (mod, ver, hash string) {
	if f.Module == "" {
		return GoMNISTModule, GoMNISTVersion, GoMNISTHash
	}
	return f.Module, f.Version, f.Hash
}

func (f *Fetcher) remotes(canon string) []Remote {
	if f.Remotes != nil {
		return f.Remotes[canon]
	}
	return Remotes[canon]
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 60 * time.Second}).DialContext,
		TLSHandshakeTimeout:   60 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}}
}

// Locate returns the directory holding the four files of a data set. A
// non-empty dir is used as given. Otherwise the first of these that holds
// all four files:
//
//   - the data set's directory in the cache (CacheDir/NAME);
//   - mnist: the GoMNIST module's data/ directory in the Go module cache;
//     fashion-mnist: /usr/share/datasets/fashion-mnist;
//   - a download into the cache: for mnist the module's zip from the first
//     proxy of GOPROXY that has it, verified against the pinned h1: hash;
//     for the others the official files, verified against Remotes' sums.
//
// When the files are neither found nor fetched the error matches
// ErrNotFound and says how to get them.
func (f *Fetcher) Locate(name, dir string) (string, error) {
	canon, err := Canonical(name)
	if err != nil {
		return "", err
	}
	if dir != "" {
		if m := missing(dir); len(m) > 0 {
			return "", notFound(canon, fmt.Sprintf("%s lacks %s", dir, strings.Join(m, ", ")))
		}
		return dir, nil
	}
	var tried []string
	cache, cerr := f.cacheDir()
	var target string
	if cerr == nil {
		target = filepath.Join(cache, canon)
		if len(missing(target)) == 0 {
			return target, nil
		}
		tried = append(tried, target)
	} else {
		tried = append(tried, cerr.Error())
	}
	switch canon {
	case MNIST:
		for _, mc := range f.modCaches() {
			mod, ver, _ := f.module()
			em, err1 := module.EscapePath(mod)
			ev, err2 := module.EscapeVersion(ver)
			if err1 != nil || err2 != nil {
				break
			}
			d := filepath.Join(mc, filepath.FromSlash(em)+"@"+ev, "data")
			if len(missing(d)) == 0 {
				return d, nil
			}
			tried = append(tried, d)
		}
	case Fashion:
		if len(missing(FashionDir)) == 0 {
			return FashionDir, nil
		}
		tried = append(tried, FashionDir)
	}
	if cerr != nil {
		return "", notFound(canon, "looked in: "+strings.Join(tried, "; "))
	}
	if f.offline() {
		return "", notFound(canon, "looked in: "+strings.Join(tried, "; ")+"; downloads are off ("+OfflineEnv+"=1 or Fetcher.Offline)")
	}
	if canon == MNIST {
		err = f.fetchModule(target)
	} else {
		err = f.fetchRemotes(canon, target)
	}
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			return "", fmt.Errorf("dataset: %s: %w", canon, err)
		}
		return "", notFound(canon, "looked in: "+strings.Join(tried, "; ")+"; download: "+err.Error())
	}
	return target, nil
}

func notFound(canon, detail string) error {
	files := "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
	var how string
	switch canon {
	case MNIST:
		how = fmt.Sprintf("MNIST is the Go module %s@%s: allow the download from the Go module proxy (GOPROXY), or run `go mod download %s@%s` (the files land in the module's data/ directory), or pass a directory holding %s (--data-dir)",
			GoMNISTModule, GoMNISTVersion, GoMNISTModule, GoMNISTVersion, files)
	case Fashion:
		how = fmt.Sprintf("allow the download from the official site, or install the Debian package: `apt-get install dataset-fashion-mnist` (files in %s), or download %s from https://github.com/zalandoresearch/fashion-mnist and pass their directory (--data-dir)",
			FashionDir, files)
	case KMNIST:
		how = fmt.Sprintf("KMNIST is in no package registry: allow the download from the official site, or download %s from the official page https://github.com/rois-codh/kmnist and pass their directory (--data-dir)", files)
	}
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return fmt.Errorf("dataset: %s not found%s; %s: %w", canon, detail, how, ErrNotFound)
}

// modCaches returns the Go module caches to look in, as the go command
// would choose them, without running it.
func (f *Fetcher) modCaches() []string {
	if f.ModCache == "off" {
		return nil
	}
	if f.ModCache != "" {
		return []string{f.ModCache}
	}
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return []string{d}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return []string{filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return []string{filepath.Join(home, "go", "pkg", "mod")}
	}
	return nil
}

// proxies parses a GOPROXY list. Each entry is a URL, "direct" or "off";
// fallThrough[i] tells whether any error of entry i moves on to the next
// ("|" after it) or only "not found" does ("," after it), as the go
// command does.
func proxies(list string) (entries []string, fallThrough []bool) {
	for list != "" {
		i := strings.IndexAny(list, ",|")
		e, sep := list, byte(0)
		if i >= 0 {
			e, sep, list = list[:i], list[i], list[i+1:]
		} else {
			list = ""
		}
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
			fallThrough = append(fallThrough, sep == '|')
		}
	}
	return entries, fallThrough
}

// errNotOnProxy is a 404 or 410 from a proxy: the next one is asked.
var errNotOnProxy = errors.New("not on this proxy")

// fetchModule downloads the MNIST module's zip from the module proxy,
// checks its h1: hash and installs the four data files in target.
func (f *Fetcher) fetchModule(target string) error {
	mod, ver, hash := f.module()
	list := f.GOPROXY
	if list == "" {
		list = os.Getenv("GOPROXY")
	}
	if list == "" {
		list = "https://proxy.golang.org,direct"
	}
	em, err := module.EscapePath(mod)
	if err != nil {
		return err
	}
	ev, err := module.EscapeVersion(ver)
	if err != nil {
		return err
	}
	tmp, err := f.tempDir(target)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	zipPath := filepath.Join(tmp, "module.zip")
	entries, fall := proxies(list)
	var errs []string
	fetched := false
	for i, p := range entries {
		if p == "off" {
			errs = append(errs, "GOPROXY=off forbids downloading modules")
			break
		}
		if p == "direct" {
			errs = append(errs, "GOPROXY entry \"direct\" (a version-control checkout) is not supported here; use a proxy")
			continue
		}
		u := strings.TrimSuffix(p, "/") + "/" + em + "/@v/" + ev + ".zip"
		err := f.download(u, zipPath, mod+"@"+ver)
		if err == nil {
			fetched = true
			break
		}
		errs = append(errs, err.Error())
		if !fall[i] && !errors.Is(err, errNotOnProxy) {
			break
		}
	}
	if !fetched {
		if len(errs) == 0 {
			errs = append(errs, "GOPROXY lists no proxy")
		}
		return fmt.Errorf("%s@%s: %s", mod, ver, strings.Join(errs, "; "))
	}
	got, err := dirhash.HashZip(zipPath, dirhash.Hash1)
	if err != nil {
		return fmt.Errorf("%s@%s: the proxy's zip: %v", mod, ver, err)
	}
	if got != hash {
		return fmt.Errorf("%s@%s: zip hash %s, want %s (pinned): %w", mod, ver, got, hash, ErrChecksum)
	}
	z, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer z.Close()
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return err
	}
	prefix := mod + "@" + ver + "/data/"
	for _, zf := range z.File {
		name, ok := strings.CutPrefix(zf.Name, prefix)
		if !ok || !isDataFile(name) {
			continue
		}
		if err := extract(zf, filepath.Join(data, name)); err != nil {
			return fmt.Errorf("%s@%s: %s: %v", mod, ver, zf.Name, err)
		}
	}
	if m := missing(data); len(m) > 0 {
		return fmt.Errorf("%s@%s: the zip lacks %s", mod, ver, strings.Join(m, ", "))
	}
	return install(data, target)
}

func isDataFile(name string) bool {
	for _, s := range []Split{Train, Test} {
		im, lb := Files(s)
		if name == im || name == lb {
			return true
		}
	}
	return false
}

func extract(zf *zip.File, dst string) error {
	r, err := zf.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// fetchRemotes downloads the official files of a data set, checks their
// sums and installs them in target.
func (f *Fetcher) fetchRemotes(canon, target string) error {
	rs := f.remotes(canon)
	if len(rs) == 0 {
		return fmt.Errorf("no download address for %s", canon)
	}
	tmp, err := f.tempDir(target)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, r := range rs {
		p := filepath.Join(tmp, r.Name)
		if err := f.download(r.URL, p, canon+" "+r.Name); err != nil {
			return err
		}
		got, err := contentSHA256(p)
		if err != nil {
			return fmt.Errorf("%s (from %s): %v", r.Name, r.URL, err)
		}
		if got != r.SHA256 {
			return fmt.Errorf("%s (from %s): content SHA-256 %s, want %s (pinned): %w", r.Name, r.URL, got, r.SHA256, ErrChecksum)
		}
	}
	return install(tmp, target)
}

// contentSHA256 returns the SHA-256 of a file's content, decompressed if
// it is gzip.
func contentSHA256(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	var r io.Reader = fh
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			return "", fmt.Errorf("not gzip: %v", err)
		}
		r = zr
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tempDir makes a private directory beside target, on the same file
// system, so that install can rename it into place.
func (f *Fetcher) tempDir(target string) (string, error) {
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("cache: %v", err)
	}
	d, err := os.MkdirTemp(parent, "."+filepath.Base(target)+".tmp-")
	if err != nil {
		return "", fmt.Errorf("cache: %v", err)
	}
	return d, nil
}

// install moves the complete directory src to target in one rename. If
// another process installed target first, its copy is kept (it was
// verified the same way) and src is dropped.
func install(src, target string) error {
	if err := os.Rename(src, target); err != nil {
		if len(missing(target)) == 0 {
			return nil
		}
		return fmt.Errorf("cache: %v (%s holds an incomplete copy: remove it and try again)", err, target)
	}
	return nil
}

// download GETs u into the file dst, reporting progress under label.
func (f *Fetcher) download(u, dst, label string) error {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http" && pu.Scheme != "file") {
		return fmt.Errorf("%s: not an http(s) URL", u)
	}
	if pu.Scheme == "file" { // as the go command allows for GOPROXY
		src, err := os.Open(filepath.FromSlash(pu.Path))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w", u, errNotOnProxy)
		}
		if err != nil {
			return err
		}
		defer src.Close()
		return f.save(src, -1, dst, label, u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %v", pu.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("GET %s: %s: %w", pu.Redacted(), resp.Status, errNotOnProxy)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s", pu.Redacted(), resp.Status)
	}
	return f.save(resp.Body, resp.ContentLength, dst, label, pu.Redacted())
}

// save copies r (of size bytes, −1 if unknown) to dst.
func (f *Fetcher) save(r io.Reader, size int64, dst, label, from string) error {
	w, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("cache: %v", err)
	}
	pr := &progress{w: f.Progress, label: label, size: size}
	n, err := io.Copy(w, io.TeeReader(r, pr))
	pr.done()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %v after %d bytes", from, err, n)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("%s: got %d of %d bytes", from, n, size)
	}
	return nil
}

// progress writes "label: 3.1 of 9.9 MB" lines, at most every 200 ms.
type progress struct {
	w     io.Writer
	label string
	size  int64
	n     int64
	last  time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.w != nil && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.print("\r")
	}
	return len(b), nil
}

func (p *progress) print(prefix string) {
	of := ""
	if p.size > 0 {
		of = fmt.Sprintf(" of %.1f MB", float64(p.size)/1e6)
	}
	fmt.Fprintf(p.w, "%sdownloading %s: %.1f%s", prefix, p.label, float64(p.n)/1e6, of)
}

func (p *progress) done() {
	if p.w != nil {
		p.print("\r")
		fmt.Fprintln(p.w)
	}
}
