/** The distilled ECS API model written by scripts/generate-api-model.mjs (ecs-model.generated.json). */
export type ShapeType =
  | 'structure'
  | 'list'
  | 'map'
  | 'string'
  | 'boolean'
  | 'integer'
  | 'long'
  | 'double'
  | 'float'
  | 'timestamp'
  | 'blob';

export interface ShapeRef {
  shape: string;
}

export interface ShapeModel {
  type: ShapeType;
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  /** Length for strings and lists, value range for numbers (Smithy's length and range traits). */
  min?: number;
  max?: number;
  /** A structure that carries arbitrary JSON. */
  document?: boolean;
}

export interface ApiModel {
  _generatedBy: string;
  _source: string;
  apiVersion: string;
  operations: Record<string, { input?: string }>;
  shapes: Record<string, ShapeModel>;
}
