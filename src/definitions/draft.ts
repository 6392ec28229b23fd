import type {
  Agent,
  CommandTool,
  Definitions,
  Deploy,
  HttpTool,
  InlineTool,
  McpTool,
  PackageInfo,
  Pipeline,
  PipelineStep,
  Skill,
  User,
} from './model.js';
import { emptyCollections } from './model.js';

/**
 * Drafts are the model before validation: the same shape, but with the fields that
 * validation must check (required names, references, enumerations) still optional or loose.
 * Both routes produce them: the `.ias` parser and the JSON/YAML reader.
 */
export type HttpToolDraft = Partial<Omit<HttpTool, 'type'>> & { type: 'http' };
export type CommandToolDraft = Partial<Omit<CommandTool, 'type'>> & { type: 'command' };
export type InlineToolDraft = Partial<Omit<InlineTool, 'type'>> & { type: 'inline' };
export type McpToolDraft = Partial<Omit<McpTool, 'type'>> & { type: 'mcp' };
export type ToolDraft = HttpToolDraft | CommandToolDraft | InlineToolDraft | McpToolDraft;

export interface SkillDraft extends Omit<Skill, 'tool'> {
  tool?: ToolDraft;
}

export interface AgentDraft extends Omit<Agent, 'prompt' | 'model' | 'models' | 'on_error'> {
  prompt?: string;
  model?: string;
  models?: string[];
  on_error?: string;
}

export interface StepDraft extends Omit<PipelineStep, 'agent'> {
  agent?: string;
}

export interface PipelineDraft extends Omit<Pipeline, 'steps'> {
  steps: StepDraft[];
}

export interface UserDraft extends Omit<User, 'role'> {
  role?: string;
}

export interface DeployDraft extends Omit<Deploy, 'target'> {
  target: string;
}

export interface DefinitionsDraft
  extends Omit<Definitions, 'package' | 'skills' | 'agents' | 'pipelines' | 'deploy' | 'users'> {
  package: Partial<PackageInfo>;
  users: UserDraft[];
  skills: SkillDraft[];
  agents: AgentDraft[];
  pipelines: PipelineDraft[];
  deploy: DeployDraft[];
}

export function emptyDraft(): DefinitionsDraft {
  return { package: {}, ...emptyCollections() };
}
