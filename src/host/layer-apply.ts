// Unpacks one image layer (a tar, plain or gzip/zstd/xz) onto a folder holding the layers below it:
// OCI whiteouts honoured, nothing created, changed or deleted outside that folder, hostile entries refused.
// Not applied: xattrs (pax SCHILY.xattr.*), which node-tar's parser drops.
import { MincError } from "../core/errors.js";
import { decompressorError, openLayer } from "./layer-stream.js";
import { readLayerTar, type Progress } from "./layer-tar.js";
import { LayerWriter } from "./layer-write.js";

export interface LayerStats {
  /** tar entries seen (whiteouts and skipped devices included; pax and long-name headers not) */
  entries: number;
  /** character and block devices not made, the caller not being privileged */
  skippedDevices: number;
  /** bytes of regular-file content written */
  bytes: number;
}

export interface ApplyOptions {
  /**
   * root: owners as in the layer, devices made; otherwise files are ours and devices skipped, and
   * (run as a user other than root) folders whose mode shuts their owner out are opened while the
   * layer is applied, their modes put back at its end
   */
  readonly privileged: boolean;
  /** the layer as error messages name it, e.g. "sha256:0123456789ab" */
  readonly name: string;
}

/**
 * Unpacks the layer `blob` (tar, tar+gzip, tar+zstd or tar+xz, told by its first bytes) onto `target`,
 * which holds the layers below. Throws MincError "layer" for a damaged or hostile layer (the caller
 * deletes `target` then: what earlier entries wrote stays in it, folders opened for a rootless
 * unpacking stay open).
 */
export async function applyLayer(blob: string, target: string, opts: ApplyOptions): Promise<LayerStats> {
  const source = openLayer(blob);
  const writer = new LayerWriter(target, opts);
  const progress: Progress = { streamEnded: false };
  try {
    await readLayerTar(source.stream, writer, opts.name, progress);
  } catch (err) {
    // A stream cut short by a failing decompressor: its own error says more than the tar's.
    const why =
      progress.streamEnded && err instanceof MincError && err.code === "layer" ? await source.failure() : undefined;
    source.stop();
    throw why === undefined ? err : decompressorError(opts.name, why);
  }
  const why = await source.failure();
  if (why !== undefined) throw decompressorError(opts.name, why);
  writer.finish();
  return writer.stats;
}
