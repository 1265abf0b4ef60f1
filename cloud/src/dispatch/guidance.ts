/**
 * Automatic guidance: rules that put a message on screens when a road segment's GB/T 33171 grade
 * reaches a level, and take it off when the segment recovers. Hysteresis comes from two sides: the
 * clear level is below the trigger level (one grade better by default), and a message stays at
 * least holdS seconds, so a grade oscillating around the threshold never makes messages flap.
 * With approval, a trigger makes a proposal an operator approves (creating the message) or rejects.
 * Actor of everything a rule does by itself: 'guidance:<rule id>'.
 */
import type { Logger } from 'pino';
import type { CloudStore } from '../store/types.js';
import { GRADE_NAMES, GRADES, gradeCodeOfName, type GradeCode } from '../traffic/grades.js';
import { validateForScreens, type SignCatalogue } from './content.js';
import { contentError, MessageRequestError, MessageStateError, newId, type Dispatcher } from './dispatcher.js';
import type { LiveHub } from './live.js';
import { ProposalStateError, type GuidanceProposal, type GuidanceRule, type GuidanceRuleRecord, type GuidanceRuleState } from './types.js';

export const DEFAULT_GUIDANCE_PRIORITY = 50;
export const DEFAULT_HOLD_S = 60;
export const RULE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const ruleActor = (ruleId: string): string => `guidance:${ruleId}`;

export interface GuidanceOptions {
  store: CloudStore;
  dispatcher: Dispatcher;
  catalogue: SignCatalogue;
  hub: LiveHub;
  logger: Logger;
}

interface Levels {
  trigger: GradeCode;
  clear: GradeCode;
  holdMs: number;
}

function levelsOf(rule: GuidanceRule): Levels {
  const trigger = gradeCodeOfName(rule.whenGradeAtLeast)!;
  const clear = rule.clearWhenGradeAtMost === undefined ? ((trigger - 1) as GradeCode) : gradeCodeOfName(rule.clearWhenGradeAtMost)!;
  return { trigger, clear, holdMs: (rule.holdS ?? DEFAULT_HOLD_S) * 1000 };
}

export class GuidanceEngine {
  private readonly store: CloudStore;
  private readonly logger: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: GuidanceOptions) {
    this.store = options.store;
    this.logger = options.logger.child({ component: 'guidance' });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private get now(): number {
    return this.options.dispatcher.now();
  }

  /** Throws MessageRequestError naming what is wrong with the rule (levels, segment, targets, content). */
  async validate(rule: GuidanceRule): Promise<void> {
    const trigger = gradeCodeOfName(rule.whenGradeAtLeast);
    if (trigger === undefined) throw new MessageRequestError(`whenGradeAtLeast '${rule.whenGradeAtLeast}' must be one of ${GRADE_NAMES.join(', ')}`);
    if (trigger === 1) throw new MessageRequestError(`whenGradeAtLeast '${rule.whenGradeAtLeast}' would always trigger; pick a congested grade`);
    if (rule.clearWhenGradeAtMost !== undefined) {
      const clear = gradeCodeOfName(rule.clearWhenGradeAtMost);
      if (clear === undefined) throw new MessageRequestError(`clearWhenGradeAtMost '${rule.clearWhenGradeAtMost}' must be one of ${GRADE_NAMES.join(', ')}`);
      if (clear >= trigger) {
        throw new MessageRequestError(
          `clearWhenGradeAtMost '${rule.clearWhenGradeAtMost}' must be better than whenGradeAtLeast '${rule.whenGradeAtLeast}' (hysteresis)`,
        );
      }
    }
    const priority = rule.priority ?? DEFAULT_GUIDANCE_PRIORITY;
    if (!Number.isInteger(priority) || priority < 1 || priority > 99) {
      throw new MessageRequestError(`priority ${priority} must be 1-99: automatic guidance stays below operator messages`);
    }
    if ((rule.multi === undefined) === (rule.form === undefined)) throw new MessageRequestError('give the content as exactly one of multi or form');
    if (!(await this.store.getSegment(rule.segment))) throw new MessageRequestError(`segment '${rule.segment}' not found`);
    const screens = await this.options.dispatcher.resolve(rule.targets);
    const content = validateForScreens(rule, screens, this.options.catalogue);
    if (!content.ok) throw contentError(content.problems);
  }

  putRule(rule: GuidanceRule, actor: string): Promise<{ rule: GuidanceRuleRecord; created: boolean }> {
    return this.serial(async () => {
      await this.validate(rule);
      const saved = await this.store.dispatch.putRule(rule, {
        at: this.now,
        actor,
        action: 'guidance.rule.put',
        subject: `rule:${rule.id}`,
        details: { rule },
      });
      this.options.dispatcher.pushAudit(saved.audit);
      // A segment already congested when the rule is saved triggers it now.
      await this.evaluate(saved.rule);
      return { rule: saved.rule, created: saved.created };
    });
  }

  /** Deletes a rule; its active message is cancelled and its pending proposal withdrawn. */
  deleteRule(id: string, actor: string): Promise<boolean> {
    return this.serial(async () => {
      const rule = await this.store.dispatch.getRule(id);
      if (!rule) return false;
      await this.clear(rule, actor);
      const { deleted, audit } = await this.store.dispatch.deleteRule(id, { at: this.now, actor, action: 'guidance.rule.delete', subject: `rule:${id}`, details: {} });
      this.options.dispatcher.pushAudit(audit);
      return deleted;
    });
  }

  /** After a batch changed these segments' grades. */
  segmentsChanged(segmentIds: Iterable<string>): Promise<void> {
    const segments = new Set(segmentIds);
    return this.serial(async () => {
      for (const rule of await this.store.dispatch.listRules()) {
        if (segments.has(rule.segment)) await this.evaluate(rule);
      }
    });
  }

  /** Every second: rules whose hold has ended may clear now. */
  tick(): Promise<void> {
    return this.serial(async () => {
      const states = await this.store.dispatch.listRuleStates();
      for (const state of states) {
        const rule = await this.store.dispatch.getRule(state.ruleId);
        if (rule && this.now - state.since >= levelsOf(rule).holdMs) await this.evaluate(rule);
      }
    });
  }

  private async currentGrade(segmentId: string): Promise<GradeCode | null> {
    return (await this.store.segmentState(segmentId))?.current?.grade ?? null;
  }

  private async evaluate(rule: GuidanceRuleRecord): Promise<void> {
    const grade = await this.currentGrade(rule.segment);
    if (grade === null) return;
    const levels = levelsOf(rule);
    const state = await this.store.dispatch.getRuleState(rule.id);
    try {
      if (!state && grade >= levels.trigger) await this.trigger(rule, grade);
      else if (state && grade <= levels.clear && this.now - state.since >= levels.holdMs) {
        await this.clear(rule, ruleActor(rule.id));
        this.logger.info({ rule: rule.id, segment: rule.segment, grade: GRADES[grade].name, operation: 'guidance clear' }, 'guidance cleared');
      }
    } catch (err) {
      this.logger.error({ rule: rule.id, segment: rule.segment, operation: 'guidance evaluate', err }, 'guidance rule could not act');
    }
  }

  private async trigger(rule: GuidanceRuleRecord, grade: GradeCode): Promise<void> {
    const now = this.now;
    const actor = ruleActor(rule.id);
    if (rule.approval) {
      const { proposal, audit } = await this.store.dispatch.createProposal(
        { id: newId('p'), ruleId: rule.id, segment: rule.segment, grade: GRADES[grade].name, createdAt: now },
        { at: now, actor, action: 'guidance.propose', subject: `rule:${rule.id}`, details: { segment: rule.segment, grade: GRADES[grade].name } },
      );
      await this.store.dispatch.setRuleState(rule.id, { ruleId: rule.id, since: now, messageId: null, proposalId: proposal.id });
      this.pushProposal(proposal);
      this.options.dispatcher.pushAudit(audit);
      this.logger.info({ rule: rule.id, segment: rule.segment, proposal: proposal.id, operation: 'guidance trigger' }, 'guidance proposal made');
      return;
    }
    const { message } = await this.createMessage(rule, actor);
    await this.store.dispatch.setRuleState(rule.id, { ruleId: rule.id, since: now, messageId: message.id, proposalId: null });
    this.logger.info(
      { rule: rule.id, segment: rule.segment, grade: GRADES[grade].name, message: message.id, operation: 'guidance trigger' },
      `segment '${rule.segment}' is ${GRADES[grade].nameZh}: guidance message sent`,
    );
  }

  private createMessage(rule: GuidanceRule, actor: string) {
    return this.options.dispatcher.createMessage(
      {
        ...(rule.multi !== undefined && { multi: rule.multi }),
        ...(rule.form !== undefined && { form: rule.form }),
        targets: rule.targets,
        priority: rule.priority ?? DEFAULT_GUIDANCE_PRIORITY,
        note: `automatic guidance rule '${rule.id}' (segment '${rule.segment}')`,
      },
      { actor, source: 'auto', ruleId: rule.id },
    );
  }

  /** Takes the rule's message off and withdraws its pending proposal; the rule may trigger again. */
  private async clear(rule: GuidanceRule, actor: string): Promise<void> {
    const state = await this.store.dispatch.getRuleState(rule.id);
    if (!state) return;
    if (state.messageId !== null) {
      try {
        await this.options.dispatcher.cancelMessage(state.messageId, actor);
      } catch (err) {
        // An operator may have cancelled it already.
        if (!(err instanceof MessageStateError)) throw err;
      }
    }
    if (state.proposalId !== null) {
      const proposal = await this.store.dispatch.getProposal(state.proposalId);
      if (proposal?.status === 'pending') {
        const decided = await this.store.dispatch.decideProposal(proposal.id, { status: 'withdrawn' }, {
          at: this.now,
          actor,
          action: 'guidance.proposal.withdraw',
          subject: `proposal:${proposal.id}`,
          details: { rule: rule.id },
        });
        this.pushProposal(decided.proposal);
        this.options.dispatcher.pushAudit(decided.audit);
      }
    }
    await this.store.dispatch.setRuleState(rule.id, null);
  }

  /** Approves a pending proposal: its rule's message is created now (hold counts from here). */
  approve(proposalId: string, actor: string): Promise<GuidanceProposal> {
    return this.serial(async () => {
      const proposal = await this.pendingProposal(proposalId);
      const rule = await this.store.dispatch.getRule(proposal.ruleId);
      if (!rule) throw new ProposalStateError(`proposal '${proposalId}': rule '${proposal.ruleId}' no longer exists`);
      const { message } = await this.createMessage(rule, actor);
      const decided = await this.store.dispatch.decideProposal(proposalId, { status: 'approved', messageId: message.id }, {
        at: this.now,
        actor,
        action: 'guidance.proposal.approve',
        subject: `proposal:${proposalId}`,
        details: { rule: rule.id, message: message.id },
      });
      const state: GuidanceRuleState = { ruleId: rule.id, since: this.now, messageId: message.id, proposalId };
      await this.store.dispatch.setRuleState(rule.id, state);
      this.pushProposal(decided.proposal);
      this.options.dispatcher.pushAudit(decided.audit);
      return decided.proposal;
    });
  }

  /** Rejects a pending proposal; the rule stays triggered (no new proposal) until its segment clears. */
  reject(proposalId: string, actor: string): Promise<GuidanceProposal> {
    return this.serial(async () => {
      await this.pendingProposal(proposalId);
      const decided = await this.store.dispatch.decideProposal(proposalId, { status: 'rejected' }, {
        at: this.now,
        actor,
        action: 'guidance.proposal.reject',
        subject: `proposal:${proposalId}`,
        details: {},
      });
      this.pushProposal(decided.proposal);
      this.options.dispatcher.pushAudit(decided.audit);
      return decided.proposal;
    });
  }

  private async pendingProposal(id: string): Promise<GuidanceProposal> {
    const proposal = await this.store.dispatch.getProposal(id);
    if (!proposal) throw new ProposalNotFoundError(id);
    if (proposal.status !== 'pending') throw new ProposalStateError(`proposal '${id}' is already ${proposal.status}`);
    return proposal;
  }

  private pushProposal(proposal: GuidanceProposal): void {
    this.options.hub.publish({ type: 'proposal', proposal: { ...proposal } });
  }
}

export class ProposalNotFoundError extends Error {
  override readonly name = 'ProposalNotFoundError';
  constructor(readonly proposalId: string) {
    super(`proposal '${proposalId}' not found`);
  }
}
