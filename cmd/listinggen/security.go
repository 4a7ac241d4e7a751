package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/api"
	"github.com/listinggen/listinggen/metrics"
	"github.com/listinggen/listinggen/openai"
)

// httpTimeouts are the http.Server's timeouts. The SSE stream route lifts
// the write deadline for itself (bounded by the request's own deadline).
type httpTimeouts struct{ readHeader, read, write, idle time.Duration }

// serverConfig reads the API's security and reliability settings.
func serverConfig(getenv func(string) string) (api.Config, httpTimeouts, error) {
	cfg := api.DefaultConfig()
	t := httpTimeouts{readHeader: 10 * time.Second, read: 60 * time.Second, write: 90 * time.Second, idle: 120 * time.Second}
	r := &envReader{getenv: getenv}
	r.float("RATE_LIMIT_RPS", &cfg.RateLimit.PerSecond)
	r.int("RATE_LIMIT_BURST", &cfg.RateLimit.Burst)
	r.int("GENERATE_CONCURRENCY", &cfg.ModelConcurrency)
	r.duration("READ_HEADER_TIMEOUT", &t.readHeader)
	r.duration("READ_TIMEOUT", &t.read)
	r.duration("WRITE_TIMEOUT", &t.write)
	r.duration("IDLE_TIMEOUT", &t.idle)
	if v := getenv("TRUSTED_PROXIES"); v != "" {
		for _, part := range strings.Split(v, ",") {
			n, err := parseNet(strings.TrimSpace(part))
			if err != nil {
				r.errs = append(r.errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
				continue
			}
			cfg.TrustedProxies = append(cfg.TrustedProxies, n)
		}
	}
	if err := errors.Join(append(r.errs, cfg.Validate())...); err != nil {
		return cfg, t, err
	}
	return cfg, t, nil
}

// parseNet reads a CIDR or a single address.
func parseNet(s string) (*net.IPNet, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is neither an address nor a CIDR", s)
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

// isLoopback reports whether a listen address accepts only local
// connections. An empty host (":8080") listens on every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// safeDefault decides whether keyless requests may run: only on a
// loopback address and only while no API key exists. With no key on any
// other address, serve refuses to start rather than expose every tenant's
// data to the network.
func safeDefault(ctx context.Context, store listinggen.Store, addr string, logger *slog.Logger) (open bool, err error) {
	n, err := store.CountActiveAPIKeys(ctx)
	if err != nil {
		return false, err
	}
	loopback := isLoopback(addr)
	switch {
	case n == 0 && !loopback:
		return false, fmt.Errorf("serve: no API keys exist and %s is not a loopback address, so every request would be anonymous; "+
			"create a key first with `listinggen keys create --tenant NAME --scopes read,write,admin` (same DATABASE_URL or DATA_DIR), "+
			"or listen on 127.0.0.1", addr)
	case n == 0:
		logger.Warn("no API keys: requests without a key run as the default tenant (loopback only); the first key created ends this",
			"tenant", listinggen.DefaultTenant)
	default:
		logger.Info("API keys required on /v1", "active_keys", n)
	}
	return loopback, nil
}

func modelStats(s openai.Stats) metrics.ModelStats {
	return metrics.ModelStats{Calls: s.Calls, Retries: s.Retries, Status429: s.Status429, Failures: s.Failures, BreakerRejected: s.BreakerRejected,
		PromptTokens: s.PromptTokens, CompletionTokens: s.CompletionTokens, CostUSD: s.CostUSD}
}
