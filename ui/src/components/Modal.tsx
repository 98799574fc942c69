// A modal dialog drawn by the page (WebKitGTK and the test DOM agree on plain elements): focus moves
// into it, Escape cancels, and clicks and keys inside never reach what lies under it.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Modal({
  title,
  testId,
  onCancel,
  children,
}: {
  title: string;
  testId: string;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // The first field, else the first button marked to take the focus, else the first button.
    const first =
      box.current?.querySelector<HTMLElement>("input, [data-autofocus]") ?? box.current?.querySelector<HTMLElement>("button");
    first?.focus();
  }, []);
  return (
    <div
      class="modal-back"
      onClick={(e) => {
        e.stopPropagation();
        if (e.target === e.currentTarget) onCancel();
      }}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === "Escape") onCancel();
      }}
    >
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} data-testid={testId} ref={box}>
        <h3>{title}</h3>
        {children}
      </div>
    </div>
  );
}
