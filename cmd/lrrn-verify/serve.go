package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lrrn/lrrn/verify/service"
)

// runServe serves the certifier until ctx is cancelled (SIGTERM, SIGINT),
// then reports not-ready on /healthz, stops accepting connections and
// waits up to --shutdown-timeout for the requests in flight; connections
// still busy then (a client that does not read its answer) are closed.
// Either way the server has stopped when it returns nil.
func runServe(ctx context.Context, o *options, stderr io.Writer) error {
	c, err := loadCertifier(o)
	if err != nil {
		return err
	}
	var logger *slog.Logger
	if !o.quiet {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	h, err := service.New(c, service.Options{MaxBodyBytes: o.maxBody, MaxBatch: o.maxBatch, MaxInFlight: o.maxInFlight, MaxQueue: o.maxQueue, Logger: logger})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       o.readTimeout,  // a client trickling a body does not hold a handler forever
		WriteTimeout:      o.writeTimeout, // nor one that does not read its answer
		IdleTimeout:       o.idleTimeout,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(stderr, nil).WithAttrs([]slog.Attr{slog.String("source", "net/http")}), slog.LevelWarn),
	}
	b := c.Bounds()
	ho := h.Options()
	fmt.Fprintf(stderr, "lrrn-verify: serving %s (ρ ≤ %.4f, %d passes) on http://%s; at most %d requests in flight, %d waiting\n",
		o.model, b.Rho, c.Options().Passes, l.Addr(), ho.MaxInFlight, ho.MaxQueue)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	h.SetDraining()
	fmt.Fprintf(stderr, "lrrn-verify: shutting down, waiting up to %v for requests in flight\n", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
		// What could be answered was; close what is left (clients that do
		// not read, requests longer than the timeout).
		srv.Close()
		fmt.Fprintf(stderr, "lrrn-verify: closed the connections still busy after %v\n", o.shutdownTimeout)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(stderr, "lrrn-verify: stopped")
	return nil
}
