import { sql } from 'kysely';
import type { DbOrTx } from '../db/database.ts';
import { type CrmPipeline, stageCategoryOf } from './crm-connector.ts';
import type { CrmStageMappingRow, StageCategory } from './stage-mapping.table.ts';

export interface StageMapping {
  pipelineId: string;
  pipelineLabel: string;
  stageId: string;
  stageLabel: string;
  displayOrder: number;
  isClosed: boolean;
  /** What the CRM says of a closed stage (Salesforce IsWon); null when it does not say. */
  isWon: boolean | null;
  probability: string | null;
  derivedCategory: StageCategory;
  overrideCategory: StageCategory | null;
  /** What the app uses: the admin's override, else what the CRM implies. */
  category: StageCategory;
  archived: boolean;
}

export function stageMappingView(row: CrmStageMappingRow): StageMapping {
  return {
    pipelineId: row.pipeline_id,
    pipelineLabel: row.pipeline_label,
    stageId: row.stage_id,
    stageLabel: row.stage_label,
    displayOrder: row.display_order,
    isClosed: row.is_closed,
    isWon: row.is_won,
    probability: row.probability,
    derivedCategory: row.derived_category,
    overrideCategory: row.override_category,
    category: row.override_category ?? row.derived_category,
    archived: row.archived,
  };
}

/**
 * Stores what the CRM says about its pipelines. Labels, order and the derived category follow the
 * CRM; an admin's override is never touched; stages the CRM no longer has are kept, archived, so
 * old events still find their meaning.
 */
export async function syncStageMappings(
  db: DbOrTx,
  tenantId: string,
  pipelines: CrmPipeline[],
): Promise<number> {
  const rows = pipelines.flatMap((pipeline) =>
    pipeline.stages.map((stage) => ({
      tenant_id: tenantId,
      pipeline_id: pipeline.id,
      pipeline_label: pipeline.label,
      stage_id: stage.id,
      stage_label: stage.label,
      display_order: stage.displayOrder,
      is_closed: stage.isClosed,
      is_won: stage.isWon,
      probability: stage.probability === null ? null : String(stage.probability),
      derived_category: stageCategoryOf(stage),
      archived: false,
    })),
  );
  if (rows.length > 0) {
    await db
      .insertInto('crm_stage_mappings')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'pipeline_id', 'stage_id']).doUpdateSet((eb) => ({
          pipeline_label: eb.ref('excluded.pipeline_label'),
          stage_label: eb.ref('excluded.stage_label'),
          display_order: eb.ref('excluded.display_order'),
          is_closed: eb.ref('excluded.is_closed'),
          is_won: eb.ref('excluded.is_won'),
          probability: eb.ref('excluded.probability'),
          derived_category: eb.ref('excluded.derived_category'),
          archived: false,
          updated_at: sql<Date>`now()`,
        })),
      )
      .execute();
  }
  let stale = db
    .updateTable('crm_stage_mappings')
    .set({ archived: true, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('archived', '=', false);
  if (rows.length > 0) {
    const seen = sql.join(rows.map((r) => sql`(${r.pipeline_id}, ${r.stage_id})`));
    stale = stale.where(sql<boolean>`(pipeline_id, stage_id) not in (${seen})`);
  }
  await stale.execute();
  return rows.length;
}

export async function listStageMappings(db: DbOrTx, tenantId: string): Promise<CrmStageMappingRow[]> {
  return db
    .selectFrom('crm_stage_mappings')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('pipeline_id')
    .orderBy('display_order')
    .orderBy('stage_id')
    .execute();
}

export async function findStageMapping(
  db: DbOrTx,
  tenantId: string,
  stageId: string,
  pipelineId?: string | null,
): Promise<CrmStageMappingRow | undefined> {
  let query = db
    .selectFrom('crm_stage_mappings')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('stage_id', '=', stageId);
  // HubSpot stage ids are unique within a portal, so the pipeline only disambiguates when known.
  if (pipelineId) query = query.where('pipeline_id', '=', pipelineId);
  return query.orderBy('archived').limit(1).executeTakeFirst();
}

/** Sets (or with null clears) the admin's category for a stage; undefined when the stage is unknown. */
export async function overrideStageCategory(
  db: DbOrTx,
  tenantId: string,
  pipelineId: string,
  stageId: string,
  category: StageCategory | null,
): Promise<{ before: CrmStageMappingRow; after: CrmStageMappingRow } | undefined> {
  const before = await db
    .selectFrom('crm_stage_mappings')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('pipeline_id', '=', pipelineId)
    .where('stage_id', '=', stageId)
    .forUpdate()
    .executeTakeFirst();
  if (!before) return undefined;
  const after = await db
    .updateTable('crm_stage_mappings')
    .set({ override_category: category, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('pipeline_id', '=', pipelineId)
    .where('stage_id', '=', stageId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { before, after };
}
