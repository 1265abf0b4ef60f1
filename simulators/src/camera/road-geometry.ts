/**
 * The road as a pole camera sees it: a straight road running up the image, narrowing towards the
 * top (perspective), with N lanes side by side. Everything that depends on the position in the
 * image (lane edges, vehicle size, pixels per metre) comes from here, so the motion model, the
 * renderer and the exported lines agree.
 *
 * Perspective is linear in y: the road is `topWidth` wide at y = 0 and `bottomWidth` at y = H.
 * A vehicle's object box is VEHICLE_WIDTH_OF_LANE of its lane's width, so on the default road
 * (640x360, 3 lanes) it is about 125 px wide on the counting lines (y = 0.6 H) and never below
 * ~96 px anywhere in the frame: the size the FastestDet detector still finds reliably.
 */

export type LaneDirection = 'towards' | 'away';

export interface Point {
  x: number;
  y: number;
}

/** A counting line: normalised 0..1 coordinates; forward = the lane's driving direction. */
export interface SceneLine {
  id: string;
  lane: number;
  from: Point;
  to: Point;
  /**
   * Unit vector of the forward crossing direction in image coordinates (y down): {x:0,y:1} in a
   * lane towards the camera. `from`/`to` are oriented so that forward is also "from the left of
   * from->to to its right" as seen walking from `from` to `to` with y pointing down.
   */
  forward: Point;
}

/** A zone in normalised coordinates (polygon, clockwise in the image). */
export interface SceneZone {
  id: string;
  kind: 'queue' | 'restricted';
  lane?: number;
  polygon: Point[];
}

export const VEHICLE_WIDTH_OF_LANE = 0.72;
/** Metres of lane width, for pixels-per-metre across the road. */
const LANE_WIDTH_M = 3.5;
/** Along the road a metre looks shorter than across it (the camera looks down at an angle). */
const FORESHORTENING = 0.25;

export class RoadGeometry {
  private readonly topWidth: number;
  private readonly bottomWidth: number;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly directions: readonly LaneDirection[],
  ) {
    this.topWidth = width * 0.625;
    this.bottomWidth = width * 0.9375;
  }

  get laneCount(): number {
    return this.directions.length;
  }

  /** +1 when vehicles in the lane move down the image (towards the camera), -1 otherwise. */
  laneSign(lane: number): 1 | -1 {
    return this.directions[lane - 1] === 'away' ? -1 : 1;
  }

  roadWidth(y: number): number {
    return this.topWidth + ((this.bottomWidth - this.topWidth) * y) / this.height;
  }

  roadLeft(y: number): number {
    return (this.width - this.roadWidth(y)) / 2;
  }

  roadRight(y: number): number {
    return (this.width + this.roadWidth(y)) / 2;
  }

  laneWidth(y: number): number {
    return this.roadWidth(y) / this.laneCount;
  }

  /** x of the left edge of lane `lane` (1-based) at y; lane N+1 gives the road's right edge. */
  laneEdge(lane: number, y: number): number {
    return this.roadLeft(y) + (lane - 1) * this.laneWidth(y);
  }

  laneCentre(lane: number, y: number): number {
    return this.laneEdge(lane, y) + this.laneWidth(y) / 2;
  }

  /** Width in px of a vehicle's object box whose centre is at y. */
  vehicleWidth(y: number): number {
    return VEHICLE_WIDTH_OF_LANE * this.laneWidth(y);
  }

  /** Height in px of a standing person whose centre is at y. */
  personHeight(y: number): number {
    return 0.7 * this.laneWidth(y);
  }

  /** Pixels per metre along the road at y. */
  alongPxPerM(y: number): number {
    return (FORESHORTENING * this.laneWidth(y)) / LANE_WIDTH_M;
  }

  /** Pixels per metre across the road at y. */
  acrossPxPerM(y: number): number {
    return this.laneWidth(y) / LANE_WIDTH_M;
  }

  /** One counting line per lane, across the lane at normalised y = lineY[lane-1]. */
  countingLines(lineY: readonly number[]): SceneLine[] {
    return this.directions.map((_, i) => {
      const lane = i + 1;
      const y = lineY[i]!;
      const yPx = y * this.height;
      const left = { x: this.laneEdge(lane, yPx) / this.width, y };
      const right = { x: this.laneEdge(lane + 1, yPx) / this.width, y };
      const down = this.laneSign(lane) === 1;
      // Walking left->right with y down, the right-hand side is down (+y).
      return { id: `lane-${lane}`, lane, from: down ? left : right, to: down ? right : left, forward: { x: 0, y: down ? 1 : -1 } };
    });
  }

  /** The lane between normalised y0 and y1 as a polygon. */
  laneBand(lane: number, y0: number, y1: number): Point[] {
    const [a, b] = y0 < y1 ? [y0, y1] : [y1, y0];
    const at = (x: number, y: number): Point => ({ x: x / this.width, y });
    return [
      at(this.laneEdge(lane, a * this.height), a),
      at(this.laneEdge(lane + 1, a * this.height), a),
      at(this.laneEdge(lane + 1, b * this.height), b),
      at(this.laneEdge(lane, b * this.height), b),
    ];
  }

  /** The verge right of the road between normalised y0 and y1 (the restricted zone). */
  rightVerge(y0: number, y1: number): Point[] {
    const edge = (y: number): Point => ({ x: Math.min(1, (this.roadRight(y * this.height) + 2) / this.width), y });
    return [edge(y0), { x: 1, y: y0 }, { x: 1, y: y1 }, edge(y1)];
  }
}

/** Point in polygon (even-odd rule), for normalised or pixel coordinates alike. */
export function insidePolygon(p: Point, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}
