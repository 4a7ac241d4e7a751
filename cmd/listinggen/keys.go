package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/envflag"
)

const keysUsage = `Usage:
  listinggen keys create --tenant T --scopes read,write,admin [--name N]
  listinggen keys list   [--tenant T]
  listinggen keys revoke KEY_ID

create prints the key once: only its hash is stored.
`

// keys manages API keys in the configured store (the same DATABASE_URL or
// DATA_DIR as serve).
func keys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: no subcommand given")
	}
	sub, args := args[0], args[1:]
	f := envflag.New("keys "+sub, getenv, stderr)
	common := bindCommon(f)
	var tenant, scopes, name *string
	switch sub {
	case "create":
		tenant = f.FlagSet.String("tenant", "", "the tenant the key acts for")
		scopes = f.FlagSet.String("scopes", "read", "comma-separated scopes: read, write, admin")
		name = f.FlagSet.String("name", "", "a label to recognise the key by")
	case "list":
		tenant = f.FlagSet.String("tenant", "", "only this tenant's keys")
	case "revoke":
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: unknown subcommand %q", sub)
	}
	// revoke takes the key id as an argument, which envflag.Parse refuses.
	if err := f.FlagSet.Parse(args); err != nil {
		return err
	}
	rest := f.Args()
	if sub == "revoke" && len(rest) != 1 || sub != "revoke" && len(rest) != 0 {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys %s: unexpected arguments %q", sub, strings.Join(rest, " "))
	}
	store, err := common.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		sc, err := listinggen.ParseScopes(*scopes)
		if err != nil {
			return fmt.Errorf("--scopes: %s", listinggen.ErrorMessage(err))
		}
		k, token, err := listinggen.NewAPIKey(*tenant, *name, sc, time.Now())
		if err != nil {
			return fmt.Errorf("--tenant: %s", listinggen.ErrorMessage(err))
		}
		if err := store.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created key %s for tenant %s with scopes %s; it is shown once, store it now:\n", k.ID, k.TenantID, listinggen.JoinScopes(k.Scopes))
		fmt.Fprintln(stdout, token)
	case "list":
		list, err := store.ListAPIKeys(ctx, *tenant)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.TenantID, orDash(k.Name), listinggen.JoinScopes(k.Scopes),
				k.CreatedAt.Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		if err := store.RevokeAPIKey(ctx, rest[0], time.Now()); err != nil {
			return fmt.Errorf("keys revoke: %s", listinggen.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "revoked %s\n", rest[0])
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
