import OpenSeadragon from "openseadragon";
import { api } from "./api";

/** `GET /api/v1/ui/images/{id}/deepzoom/`: signed viewer URLs (the signature is in the path, README "Images"). */
export interface DeepZoomUrls {
  iiif: string;
  dzi: string;
  pyramid_status: string;
  expires_at: string;
}

/**
 * Opens image `imageId` in an OpenSeadragon viewer inside `element`, on our Deep Zoom tiles (254 px, overlap 1), so a
 * 12 MP photo shows at once from a coarse level and sharpens as the user zooms. Tiles come from this Worker only.
 * Resolves once the image is open (its first tiles requested) with the viewer and the URLs used.
 * @throws HttpError when the image cannot be read (404 for another user's private image).
 */
export async function openDeepZoom(
  element: HTMLElement,
  imageId: number,
  options: Partial<OpenSeadragon.Options> = {},
): Promise<{ viewer: OpenSeadragon.Viewer; urls: DeepZoomUrls }> {
  const urls = await api<DeepZoomUrls>(`/api/v1/ui/images/${imageId}/deepzoom/`);
  const viewer = OpenSeadragon({
    element,
    tileSources: urls.dzi,
    prefixUrl: "/assets/osd-images/",
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    maxZoomPixelRatio: 4,
    visibilityRatio: 0.5,
    crossOriginPolicy: false,
    gestureSettingsMouse: { clickToZoom: false },
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    viewer.addOnceHandler("open", () => resolve());
    viewer.addOnceHandler("open-failed", (e) => reject(new Error(`deep zoom failed to open: ${e.message}`)));
  });
  return { viewer, urls };
}
