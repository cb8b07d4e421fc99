import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelManifest } from '../src/model/manifest.js';
import { metricsTable } from './evaluation.js';

/** Writes MODEL_CARD.md: what the model is, what it learned from, how well it does and what its data allow. */
export function writeModelCard(dir: string, manifest: ModelManifest): void {
  const sets = manifest.training.sets
    .map((set) => `| ${set.name} | ${set.messages.ham} | ${set.messages.spam} | ${set.messages.train} | ${set.messages.test} | ${set.licence} | \`${set.sha256.slice(0, 16)}\` |`)
    .join('\n');
  const nonCommercial = manifest.training.sets.some((set) => /NC/.test(set.licence));
  const noLicence = manifest.training.sets.some((set) => /without a licence|copyright with the senders/.test(set.licence));

  const text = `# Model card: spamward ${manifest.version}

## What it is

A small neural network (TensorFlow.js layers model: ${manifest.schema.features.length} inputs, one hidden ReLU layer, one sigmoid output) that estimates the probability that an email is spam. Its inputs are the spamward feature schema version ${manifest.schema.version} (digest \`${manifest.schema.digest.slice(0, 16)}\`): header structure and alignment, content statistics, links, MIME structure, authentication results, and token evidence from a table of word counts (tokens.json) combined by the Robinson-Fisher method.

spamward adds the scores of its heuristic rules, weighted by ${manifest.ruleWeight}, to the model's log-odds. The thresholds were calibrated on a held-back part of the training split: suspect at ${manifest.thresholds.suspect}, spam at ${manifest.thresholds.spam}, reject at ${manifest.thresholds.reject}.

Created ${manifest.createdAt} with ${manifest.training.backend}, seed ${manifest.training.seed}, ${manifest.training.epochs} epochs.

## Training data

| set | ham | spam | train | test | licence | sha256 |
| --- | ---: | ---: | ---: | ---: | --- | --- |
${sets}

A message is in the test split when the first hex digit of its md5 is c, d, e or f: the md5 in the SpamAssassin file name, or the md5 of the set name and a group key for the other sets, so that copies of one newsletter stay in one split. Metrics below are on the test split only.

Each modern set comes from one source, so the model could learn the source instead of the spam. Training works against that: upstream filter headers (X-Spam-*) and subject tags are removed before features; ${manifest.training.maskedTokens} tokens that mark one set's source (list names, footers, rewritten recipient addresses) are masked; no feature reads list names, server host names or DKIM domains; ${manifest.training.maskedAddressTokens ?? 0} From and Reply-To tokens (names and address parts) that the public-domain SpamAssassin corpus does not contain are left out of the token table, so the shipped model carries no name or address found only in the modern sets; and each modern set's weight is capped so that no source dominates.

## How well it does

Computed by the training run on the test split (${manifest.metrics.computedAt}); \`npm run evaluate\` recomputes them.

With authentication read from each message's topmost Authentication-Results header, as a gateway that trusts its MTA's results sees it:

${metricsTable(manifest.metrics.testSplit)}

With every authentication input unknown, as when DNS is down and no trusted header is present:

${metricsTable(manifest.metrics.testSplitAuthUnknown ?? [])}

Sets that hold one class only have no AUC; their FPR or FNR is what they measure. "modern sets combined" pools the modern sets' test splits.

## Limits

- The ham in the modern sets is mailing-list traffic, newsletters and a small set of personal mail; the SpamAssassin ham is from 2002. Personal and business mail of today is under-represented, so measure false positives on your own mail before rejecting on this model's verdict.
- The modern spam comes from two sources. The model has seen little spam in languages other than English, and ham that is almost all English.
- The MODEL_* symbols are gradient-times-input attributions at this message's point: for an input that is rare in training, such as a known SPF result, they can be large in either direction, so MODEL_AUTH_SPF_PASS may push a message towards spam. They explain this message's score, not a general rule.
- Authentication inputs come from the Authentication-Results headers that the receiving systems wrote into the modern sets, and half of the training rows had them all masked to unknown, and each of the rest had every mechanism masked with a 15% chance (auth dropout). The SpamAssassin mail of 2002 has no such headers, so its authentication is always unknown.

## What the data's licences mean for you

${noLicence ? '- Some training sets are public mailing-list posts or newsletters whose copyright stays with their senders. They were used as training data only; no message is included in the model or the package. The model holds word counts (tokens.json), not messages.\n' : ''}${nonCommercial ? '- Some training sets are licensed CC BY-NC 4.0 (non-commercial). Whether a model trained on them may be used commercially is not settled. If you use spamward commercially and want to be on the safe side, retrain without those sets: `npm run train -- --corpus DIR` with a folder that leaves them out.\n' : ''}- The SpamAssassin public corpus is in the public domain.
`;
  writeFileSync(join(dir, 'MODEL_CARD.md'), text);
}
