SELECT {table_name}::text AS tbl, workspace::text AS workspace, id::text AS id,
       tenant_id::text AS tenant_id, kb_id::text AS kb_id
  FROM {table}
