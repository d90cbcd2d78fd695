/**
 * Reads FILE in a loop, as a runtime exec'ing the plugin would open it, until STOP exists, and
 * classifies each read by its SHA-256: the old file, the new one, or anything else (a partial
 * or mixed file). Prints {"old":n,"new":n,"other":n,"sizes":[...]} on stdout, and after every
 * read writes the counts so far to STOP.counts (renamed into place), so that the test can wait
 * for the reader to have seen a state instead of guessing how long one read takes under load.
 *   bun reader-worker.ts FILE OLD_SHA256 NEW_SHA256 STOP
 */
import * as fs from "node:fs";

const [file, oldHash, newHash, stop] = process.argv.slice(2);
if (!file || !oldHash || !newHash || !stop) throw new Error("usage: reader-worker.ts FILE OLD NEW STOP");
const counts = { old: 0, new: 0, other: 0, missing: 0, otherSizes: [] as number[] };
fs.writeFileSync(`${stop}.ready`, "");
while (!fs.existsSync(stop)) {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    counts.missing++;
    continue;
  }
  const hash = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  if (hash === oldHash) counts.old++;
  else if (hash === newHash) counts.new++;
  else {
    counts.other++;
    counts.otherSizes.push(bytes.length);
  }
  fs.writeFileSync(`${stop}.counts.tmp`, JSON.stringify(counts));
  fs.renameSync(`${stop}.counts.tmp`, `${stop}.counts`);
}
process.stdout.write(`${JSON.stringify(counts)}\n`);
