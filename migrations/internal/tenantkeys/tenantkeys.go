// Package tenantkeys gives the tenant tables their keys by account on PostgreSQL. Ent models
// single-column keys only; the migration generator and the drift test rewrite Ent's desired
// schema with Keys before Atlas diffs it, so the Ent schemas stay the source of truth.
package tenantkeys

import (
	"fmt"

	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

// tables names the tables of the schemas annotated schema.Tenant.
func tables(schemaPath string) (map[string]bool, error) {
	g, err := entc.LoadGraph(schemaPath, &gen.Config{})
	if err != nil {
		return nil, fmt.Errorf("load ent schema: %w", err)
	}
	tables := map[string]bool{}
	for _, n := range g.Nodes {
		if _, ok := n.Annotations["Tenant"]; ok {
			tables[n.Table()] = true
		}
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("no schema is annotated Tenant: the TenantMixin lost its annotation")
	}
	return tables, nil
}

// Hook loads the Ent schemas at schemaPath and returns the diff hook of their tenant tables.
func Hook(schemaPath string) (schema.DiffHook, error) {
	t, err := tables(schemaPath)
	if err != nil {
		return nil, err
	}
	return Keys(t), nil
}

// Keys rewrites the desired PostgreSQL schema so that every tenant table is keyed by
// account: primary key (account_id, id), each foreign key to another tenant table
// (account_id, x) → (account_id, id), and no ON DELETE SET NULL (a composite key would null
// account_id too; gokart deletes neither advertisers nor conversions). A unique key without account_id is an
// error in the Ent schema, not something to rewrite: the schema says what is unique.
func Keys(tenants map[string]bool) schema.DiffHook {
	return func(next schema.Differ) schema.Differ {
		return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
			for _, t := range desired.Tables {
				if !tenants[t.Name] {
					continue
				}
				account, ok := t.Column("account_id")
				if !ok || account.Type.Null {
					return nil, fmt.Errorf("tenant table %s: account_id must be a NOT NULL column", t.Name)
				}
				if pk := t.PrimaryKey; pk != nil && len(pk.Parts) == 1 {
					pk.Parts = append([]*atlas.IndexPart{{C: account, SeqNo: 0}}, pk.Parts...)
					for i, p := range pk.Parts {
						p.SeqNo = i
					}
				}
				for _, idx := range t.Indexes {
					if idx.Unique && !hasColumn(idx, "account_id") {
						return nil, fmt.Errorf("tenant table %s: unique index %s must include account_id", t.Name, idx.Name)
					}
				}
				for _, fk := range t.ForeignKeys {
					if fk.OnDelete == atlas.SetNull {
						fk.OnDelete = atlas.NoAction
					}
					if !tenants[fk.RefTable.Name] || len(fk.Columns) != 1 {
						continue
					}
					refAccount, ok := fk.RefTable.Column("account_id")
					if !ok {
						return nil, fmt.Errorf("tenant table %s has no account_id", fk.RefTable.Name)
					}
					fk.Columns = append([]*atlas.Column{account}, fk.Columns...)
					fk.RefColumns = append([]*atlas.Column{refAccount}, fk.RefColumns...)
				}
			}
			return next.Diff(current, desired)
		})
	}
}

// hasColumn tells whether an index has the column among its parts.
func hasColumn(idx *atlas.Index, column string) bool {
	for _, p := range idx.Parts {
		if p.C != nil && p.C.Name == column {
			return true
		}
	}
	return false
}
